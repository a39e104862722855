import { CHANNEL, PACKAGE_NAME } from './csv.js';

/**
 * The bundle's metadata: metadata/annotations.yaml (what OLM and opm read to place the bundle in a
 * catalog), the scorecard configuration under tests/, and bundle.Dockerfile, whose labels must be
 * the same annotations. Laid out as operator-sdk's `generate bundle` lays them out. Pure.
 */

export const MANIFESTS_DIR = 'manifests/';
export const METADATA_DIR = 'metadata/';
export const SCORECARD_DIR = 'tests/scorecard/';
/** The scorecard-test image of the operator-sdk release whose conventions this bundle follows. */
export const SCORECARD_IMAGE = 'quay.io/operator-framework/scorecard-test:v1.42.2';

/** The core bundle annotations, then the ones pointing at the scorecard tests, as operator-sdk orders them. */
export function bundleAnnotations(): { core: [string, string][]; testing: [string, string][] } {
  return {
    core: [
      ['operators.operatorframework.io.bundle.mediatype.v1', 'registry+v1'],
      ['operators.operatorframework.io.bundle.manifests.v1', MANIFESTS_DIR],
      ['operators.operatorframework.io.bundle.metadata.v1', METADATA_DIR],
      ['operators.operatorframework.io.bundle.package.v1', PACKAGE_NAME],
      ['operators.operatorframework.io.bundle.channels.v1', CHANNEL],
      ['operators.operatorframework.io.bundle.channel.default.v1', CHANNEL],
    ],
    testing: [
      ['operators.operatorframework.io.test.mediatype.v1', 'scorecard+v1'],
      ['operators.operatorframework.io.test.config.v1', SCORECARD_DIR],
    ],
  };
}

export function annotationsYaml(header: string): string {
  const { core, testing } = bundleAnnotations();
  const lines = (pairs: [string, string][]): string => pairs.map(([k, v]) => `  ${k}: ${v}\n`).join('');
  return `${header}annotations:\n  # Core bundle annotations.\n${lines(core)}  # Annotations for testing.\n${lines(testing)}`;
}

export function bundleDockerfile(header: string): string {
  const { core, testing } = bundleAnnotations();
  const labels = (pairs: [string, string][]): string => pairs.map(([k, v]) => `LABEL ${k}=${v}\n`).join('');
  return (
    `${header}# Build from this directory: docker build -f bundle.Dockerfile -t <registry>/weft-bundle:v<version> .\n` +
    'FROM scratch\n\n' +
    `# Core bundle labels.\n${labels(core)}\n` +
    `# Labels for testing.\n${labels(testing)}\n` +
    '# Copy files to locations specified by labels.\n' +
    `COPY ${MANIFESTS_DIR.slice(0, -1)} /${MANIFESTS_DIR}\n` +
    `COPY ${METADATA_DIR.slice(0, -1)} /${METADATA_DIR}\n` +
    `COPY ${SCORECARD_DIR.slice(0, -1)} /${SCORECARD_DIR}\n`
  );
}

const scorecardTest = (
  suite: 'basic' | 'olm',
  test: string,
): { entrypoint: string[]; image: string; labels: Record<string, string> } => ({
  entrypoint: ['scorecard-test', test],
  image: SCORECARD_IMAGE,
  labels: { suite, test: `${test}-test` },
});

/** operator-sdk's default scorecard configuration: the basic suite and the OLM suite. */
export function scorecardConfig(): object {
  return {
    apiVersion: 'scorecard.operatorframework.io/v1alpha3',
    kind: 'Configuration',
    metadata: { name: 'config' },
    stages: [
      {
        parallel: true,
        tests: [
          scorecardTest('basic', 'basic-check-spec'),
          scorecardTest('olm', 'olm-bundle-validation'),
          scorecardTest('olm', 'olm-crds-have-validation'),
          scorecardTest('olm', 'olm-crds-have-resources'),
          scorecardTest('olm', 'olm-spec-descriptors'),
          scorecardTest('olm', 'olm-status-descriptors'),
        ],
      },
    ],
    storage: { spec: { mountPath: {} } },
  };
}
