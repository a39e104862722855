// Command olm-bundle-validate validates an OLM registry+v1 bundle directory as
// `operator-sdk bundle validate <dir> --select-optional suite=operatorframework
// --optional-values=k8s-version=<v>` does, with the library operator-sdk calls for it
// (github.com/operator-framework/api). The Go module proxy these machines use refuses
// operator-sdk and operator-registry themselves; docs/adr/0009-olm-bundle-validation.md
// records the substitution and what each step below reproduces.
//
//	olm-bundle-validate [--k8s-version=1.35] [--strict] <bundle-dir>
//
// Exit status: 0 when no validator reports an error (warnings are printed but pass,
// as in operator-sdk, unless --strict), 1 when one does, 2 when the bundle cannot be
// read at all. Weft's CI runs it with --strict: the bundle is kept free of warnings too.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	apimanifests "github.com/operator-framework/api/pkg/manifests"
	apivalidation "github.com/operator-framework/api/pkg/validation"
	apierrors "github.com/operator-framework/api/pkg/validation/errors"
	interfaces "github.com/operator-framework/api/pkg/validation/interfaces"
	k8svalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// The annotation keys and values of operator-registry's pkg/lib/bundle (ValidateBundleFormat).
const (
	mediatypeLabel      = "operators.operatorframework.io.bundle.mediatype.v1"
	manifestsLabel      = "operators.operatorframework.io.bundle.manifests.v1"
	metadataLabel       = "operators.operatorframework.io.bundle.metadata.v1"
	packageLabel        = "operators.operatorframework.io.bundle.package.v1"
	channelsLabel       = "operators.operatorframework.io.bundle.channels.v1"
	channelDefaultLabel = "operators.operatorframework.io.bundle.channel.default.v1"
	registryV1Type      = "registry+v1"
	manifestsDir        = "manifests/"
	metadataDir         = "metadata/"
)

// Kinds a registry+v1 bundle may carry besides the CSV and CRDs (operator-registry's
// pkg/lib/bundle/supported_resources.go); OLM refuses to install anything else.
var supportedKinds = map[string]bool{
	"ClusterServiceVersion": true, "CustomResourceDefinition": true, "ClusterRole": true,
	"ClusterRoleBinding": true, "Service": true, "ServiceAccount": true, "Role": true,
	"RoleBinding": true, "PrometheusRule": true, "ServiceMonitor": true, "Secret": true,
	"ConfigMap": true, "PodDisruptionBudget": true, "PriorityClass": true,
	"VerticalPodAutoscaler": true, "ConsoleYAMLSample": true,
}

// namedValidator is one of operator-sdk's optional validators, under its name there.
type namedValidator struct {
	interfaces.Validator
	name string
}

// The validators operator-sdk labels suite=operatorframework
// (internal/cmd/operator-sdk/bundle/validate/optional.go, since operator-sdk consumed
// operator-framework/api v0.20.0, which split the deprecated OperatorHub validator into
// operatorhubv2, capabilities and categories). operatorhub (deprecated), community and
// multiarch are optional validators outside the suite, so they are not run here.
var operatorFrameworkSuite = []namedValidator{
	{apivalidation.OperatorHubV2Validator, "operatorhubv2"},
	{apivalidation.StandardCapabilitiesValidator, "capabilities"},
	{apivalidation.StandardCategoriesValidator, "categories"},
	{apivalidation.AlphaDeprecatedAPIsValidator, "alpha-deprecated-apis"},
	{apivalidation.GoodPracticesValidator, "good-practices"},
}

// report collects findings in the order operator-sdk prints them: format, content, optional.
type report struct {
	errors   []string
	warnings []string
}

func (r *report) addError(err error) { r.errors = append(r.errors, err.Error()) }

func (r *report) addResults(results []apierrors.ManifestResult) {
	for _, res := range results {
		for _, w := range res.Warnings {
			r.warnings = append(r.warnings, w.Error())
		}
		for _, e := range res.Errors {
			r.errors = append(r.errors, e.Error())
		}
	}
}

func main() {
	k8sVersion := flag.String("k8s-version", "", "Kubernetes version the bundle is meant for (operator-sdk's --optional-values=k8s-version=...)")
	strict := flag.Bool("strict", false, "fail on warnings too")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [--k8s-version=1.35] [--strict] <bundle-dir>\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	dir := flag.Arg(0)

	var r report
	annotations, formatErrs := validateFormat(dir)
	for _, err := range formatErrs {
		r.addError(err)
	}
	manifests := filepath.Join(dir, manifestsDirOf(annotations))
	bundle, err := apimanifests.GetBundleFromDir(manifests)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot read the bundle in %s: %v\n", manifests, err)
		os.Exit(2)
	}
	r.addResults(validateContent(bundle))

	optionalValues := map[string]string{}
	if *k8sVersion != "" {
		optionalValues["k8s-version"] = *k8sVersion
	}
	names := make([]string, 0, len(operatorFrameworkSuite))
	for _, v := range operatorFrameworkSuite {
		names = append(names, v.name)
	}
	r.addResults(runSuite(bundle, optionalValues))

	fmt.Printf("bundle %s (%s): default validators and suite=operatorframework (%s)",
		dir, bundle.Name, strings.Join(names, ", "))
	if *k8sVersion != "" {
		fmt.Printf(", k8s-version=%s", *k8sVersion)
	}
	fmt.Println()
	for _, w := range r.warnings {
		fmt.Printf("WARN  %s\n", w)
	}
	for _, e := range r.errors {
		fmt.Printf("ERROR %s\n", e)
	}
	if len(r.errors) > 0 {
		fmt.Printf("%d error(s), %d warning(s)\n", len(r.errors), len(r.warnings))
		os.Exit(1)
	}
	if len(r.warnings) > 0 {
		if *strict {
			fmt.Printf("%d warning(s), which --strict refuses\n", len(r.warnings))
			os.Exit(1)
		}
		fmt.Printf("passed with %d warning(s)\n", len(r.warnings))
		return
	}
	fmt.Println("All validation tests have completed successfully")
}

// validateFormat checks the layout and metadata/annotations.yaml as operator-registry's
// ValidateBundleFormat does for operator-sdk: both directories present, every required
// annotation set, the media type registry+v1, channels non-empty.
func validateFormat(dir string) (map[string]string, []error) {
	var errs []error
	for _, sub := range []string{manifestsDir, metadataDir} {
		if info, err := os.Stat(filepath.Join(dir, sub)); err != nil || !info.IsDir() {
			errs = append(errs, fmt.Errorf("unable to locate %s directory in %s", strings.TrimSuffix(sub, "/"), dir))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	annotations, err := readAnnotations(filepath.Join(dir, metadataDir))
	if err != nil {
		return nil, append(errs, err)
	}
	expected := map[string]string{mediatypeLabel: registryV1Type, manifestsLabel: manifestsDir, metadataLabel: metadataDir}
	for _, label := range []string{mediatypeLabel, manifestsLabel, metadataLabel, packageLabel, channelsLabel} {
		val, ok := annotations[label]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("missing annotation %q", label))
		case expected[label] != "" && val != expected[label]:
			errs = append(errs, fmt.Errorf("expecting annotation %q to have value %q instead of %q", label, expected[label], val))
		case val == "":
			errs = append(errs, fmt.Errorf("expecting annotation %q to have non-empty value", label))
		}
	}
	if val, ok := annotations[channelDefaultLabel]; ok && val == "" {
		errs = append(errs, fmt.Errorf("expecting annotation %q to have non-empty value", channelDefaultLabel))
	}
	return annotations, errs
}

// readAnnotations finds the file in metadata/ holding an `annotations` map (annotations.yaml).
func readAnnotations(metadata string) (map[string]string, error) {
	entries, err := os.ReadDir(metadata)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(metadata, e.Name()))
		if err != nil {
			return nil, err
		}
		var file struct {
			Annotations map[string]string `json:"annotations"`
		}
		if yaml.Unmarshal(data, &file) == nil && file.Annotations != nil {
			return file.Annotations, nil
		}
	}
	return nil, errors.New("could not find annotations file in " + metadata)
}

func manifestsDirOf(annotations map[string]string) string {
	if d := annotations[manifestsLabel]; d != "" {
		return d
	}
	return manifestsDir
}

// validateContent is operator-sdk's internal/registry ValidateBundleContent: every non-CSV,
// non-CRD object of a kind registry+v1 supports and with valid metadata, then the default
// validators (bundle, CSV, and all CRDs together).
func validateContent(bundle *apimanifests.Bundle) []apierrors.ManifestResult {
	own := apierrors.ManifestResult{Name: bundle.Name}
	for _, u := range bundle.Objects {
		gvk := u.GetObjectKind().GroupVersionKind()
		if gvk.Kind == "ClusterServiceVersion" || gvk.Kind == "CustomResourceDefinition" {
			continue
		}
		if !supportedKinds[gvk.Kind] {
			own.Add(apierrors.ErrInvalidBundle(fmt.Sprintf("unsupported media type %s for bundle object", registryV1Type), gvk))
			continue
		}
		noPrefix := func(string, bool) []string { return nil }
		if errs := k8svalidation.ValidateObjectMetaAccessor(metav1.Object(u), false, noPrefix, field.NewPath("metadata")); len(errs) > 0 {
			own.Add(apierrors.ErrFailedValidation(fmt.Sprintf("error validating object: %s", errs.ToAggregate()), u.GetName()))
		}
	}

	results := apivalidation.BundleValidator.Validate(bundle)
	if bundle.CSV != nil {
		results = append(results, apivalidation.ClusterServiceVersionValidator.Validate(bundle.CSV)...)
	} else {
		own.Add(apierrors.ErrInvalidBundle("no ClusterServiceVersion in bundle", bundle.Name))
	}
	var crds []interface{}
	for _, crd := range bundle.V1beta1CRDs {
		crds = append(crds, crd)
	}
	for _, crd := range bundle.V1CRDs {
		crds = append(crds, crd)
	}
	if len(crds) != 0 {
		results = append(results, apivalidation.CustomResourceDefinitionValidator.Validate(crds...)...)
	}
	return append(results, own)
}

// runSuite passes every bundle object and the optional values to each suite validator, as
// operator-sdk's optional validators' run does.
func runSuite(bundle *apimanifests.Bundle, optionalValues map[string]string) []apierrors.ManifestResult {
	objs := bundle.ObjectsToValidate()
	for _, obj := range bundle.Objects {
		objs = append(objs, obj)
	}
	objs = append(objs, optionalValues)
	var results []apierrors.ManifestResult
	for _, v := range operatorFrameworkSuite {
		results = append(results, v.Validate(objs...)...)
	}
	// Stable output for CI logs: validators may range over maps.
	for i := range results {
		sort.SliceStable(results[i].Warnings, func(a, b int) bool {
			return results[i].Warnings[a].Error() < results[i].Warnings[b].Error()
		})
	}
	return results
}
