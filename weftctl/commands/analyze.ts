import { exitCodes, type ExitCode } from '../cli-error.js';
import type { AnalyzeSource } from '../command-line.js';
import type { Io } from '../io.js';
import { analyze } from '../analyze/analyze.js';
import { listClusterObjects, loadKubeConfig } from '../analyze/cluster.js';
import { readManifests, type SourcedObject, type UnreadableDocument } from '../analyze/documents.js';
import { formatAnalysis } from '../analyze/report.js';
import { loadKindSchemas } from '../analyze/schemas.js';

async function gather(
  source: AnalyzeSource,
  schemas: ReturnType<typeof loadKindSchemas>,
  io: Io,
): Promise<{ objects: SourcedObject[]; unreadable: UnreadableDocument[] }> {
  if (source.from === 'files') return readManifests(source.paths);
  const kinds = [...schemas.values()].map((s) => s.info);
  const listed = await listClusterObjects(loadKubeConfig(source.kubeconfig), kinds, source.namespace);
  if (listed.notInstalled.length > 0) {
    io.err(
      `not installed in the cluster, so not checked: ${listed.notInstalled.join(', ')} (install with weftctl manifest generate | kubectl apply --server-side -f -)`,
    );
  }
  return { objects: listed.objects, unreadable: [] };
}

export async function analyzeCommand(
  command: { readonly source: AnalyzeSource; readonly output: 'text' | 'json' },
  io: Io,
): Promise<ExitCode> {
  const schemas = loadKindSchemas();
  const { objects, unreadable } = await gather(command.source, schemas, io);
  const analysis = analyze(objects, unreadable, schemas);
  io.out(command.output === 'json' ? JSON.stringify(analysis, null, 2) : formatAnalysis(analysis));
  return analysis.findings.some((f) => f.severity === 'Error') ? exitCodes.problems : exitCodes.ok;
}
