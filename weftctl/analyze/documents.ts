import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { unavailable } from '../cli-error.js';

/** An object to analyze and where it came from, for the report ("vs.yaml, document 2", "cluster"). */
export interface SourcedObject {
  readonly object: KubernetesObject;
  readonly source: string;
}

/** A file that is not YAML at all: reported, since whatever it held was not checked. */
export interface UnreadableDocument {
  readonly source: string;
  readonly message: string;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

const isObject = (v: unknown): v is KubernetesObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `kind: List` (what kubectl get -o yaml prints) stands for its items. Pure. */
function flattenLists(value: unknown): KubernetesObject[] {
  if (!isObject(value)) return [];
  const items = (value as { items?: unknown }).items;
  if (value.kind?.endsWith('List') && Array.isArray(items)) return items.flatMap(flattenLists);
  return [value];
}

/** Every object in a YAML (or JSON) text, numbered by document; syntax errors are returned, not thrown. Pure. */
export function parseManifest(
  text: string,
  file: string,
): { objects: SourcedObject[]; unreadable: UnreadableDocument[] } {
  const objects: SourcedObject[] = [];
  const unreadable: UnreadableDocument[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    const source = `${file}, document ${i + 1}`;
    if (doc.errors.length > 0) {
      unreadable.push({
        source,
        message: `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]!.replace(/:$/, '')}`,
      });
      return;
    }
    for (const object of flattenLists(doc.toJS())) objects.push({ object, source });
  });
  return { objects, unreadable };
}

/** The manifest files under `path`: the file itself, or a directory's YAML and JSON files, recursively. */
export function manifestFiles(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    throw unavailable(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!stat.isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => {
      const child = join(path, entry);
      if (statSync(child).isDirectory()) return manifestFiles(child);
      return MANIFEST_EXTENSIONS.has(extname(entry)) ? [child] : [];
    });
}

/** Reads every object from files, directories and "-" (standard input). */
export function readManifests(
  paths: readonly string[],
  readStdin: () => string = () => readFileSync(0, 'utf8'),
): { objects: SourcedObject[]; unreadable: UnreadableDocument[] } {
  const objects: SourcedObject[] = [];
  const unreadable: UnreadableDocument[] = [];
  for (const path of paths) {
    for (const file of path === '-' ? ['-'] : manifestFiles(path)) {
      const text = file === '-' ? readStdin() : readFileSync(file, 'utf8');
      const parsed = parseManifest(text, file === '-' ? 'stdin' : file);
      objects.push(...parsed.objects);
      unreadable.push(...parsed.unreadable);
    }
  }
  return { objects, unreadable };
}
