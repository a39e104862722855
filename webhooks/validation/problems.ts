/** One thing wrong with a resource: the field path, and a message that says what to do about it. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

export interface ValidationResult {
  /** Refuse the resource. */
  readonly errors: readonly FieldProblem[];
  /** Admit it, but tell the user (kubectl prints admission warnings). */
  readonly warnings: readonly FieldProblem[];
}

/** Collects problems while a validator walks a resource. */
export class Problems {
  readonly errors: FieldProblem[] = [];
  readonly warnings: FieldProblem[] = [];

  error(field: string, message: string): void {
    this.errors.push({ field, message });
  }

  warn(field: string, message: string): void {
    this.warnings.push({ field, message });
  }

  result(): ValidationResult {
    return { errors: this.errors, warnings: this.warnings };
  }
}

/** "VirtualService default/reviews: spec.http[0].timeout: ..." lines, one per problem. Pure. */
export function describeProblems(resource: string, problems: readonly FieldProblem[]): string[] {
  return problems.map((p) => `${resource}: ${p.field}: ${p.message}`);
}
