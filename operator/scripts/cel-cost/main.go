// Prints the apiserver's own estimated cost of every x-kubernetes-validations rule in CRD files
// and the schema total: the computation k8s.io/apiextensions-apiserver's CRD validation makes
// (cel.Compile's MaxCost times the cardinality that the parents' maxItems/maxProperties allow),
// with the Kubernetes version the CRDs are tested against. The apiserver rejects a CRD whose rule
// exceeds 10M (StaticEstimatedCostLimit) or whose total exceeds 100M (StaticEstimatedCRDCostLimit).
//
//	cd operator/scripts/cel-cost && go run . ../../../crds/*.yaml
//
// docs/reference/resources.md quotes its output. Needs Go and the modules (the Go module proxy,
// or the cache scripts/build-envtest.sh fills: GOFLAGS=-mod=mod GOPROXY=off).
package main

import (
	"fmt"
	"os"
	"sort"

	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"sigs.k8s.io/yaml"
)

func walk(path string, s *apiextensions.JSONSchemaProps, ctx *validation.CELSchemaContext, env *environment.EnvSet, total *uint64) {
	if len(s.XValidations) > 0 {
		ti, err := ctx.TypeInfo()
		if err != nil || ti == nil {
			fmt.Println(path, "typeinfo error", err)
			os.Exit(1)
		}
		res, err := cel.Compile(ti.Schema, ti.DeclType, celconfig.PerCallLimit, env, cel.NewExpressionsEnvLoader())
		if err != nil {
			fmt.Println(path, "compile error", err)
			os.Exit(1)
		}
		for i, r := range res {
			card := r.MaxCardinality
			if ctx.MaxCardinality != nil {
				card = *ctx.MaxCardinality
			}
			cost := r.MaxCost * card
			*total += cost + r.MessageExpressionMaxCost
			errText := ""
			if r.Error != nil {
				errText = " ERROR " + r.Error.Detail
			}
			fmt.Printf("%s [%d] maxCost=%d x cardinality=%d = %d (%.4f%% of the 10M per-rule limit)%s\n     rule: %s\n", path, i, r.MaxCost, card, cost, float64(cost)/float64(validation.StaticEstimatedCostLimit)*100, errText, s.XValidations[i].Rule)
			if s.XValidations[i].MessageExpression != "" {
				fmt.Printf("     messageExpression cost=%d\n", r.MessageExpressionMaxCost)
			}
		}
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := s.Properties[n]
		walk(path+"."+n, &p, ctx.ChildPropertyContext(&p, n), env, total)
	}
	if s.Items != nil && s.Items.Schema != nil {
		walk(path+"[*]", s.Items.Schema, ctx.ChildItemsContext(s.Items.Schema), env, total)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		walk(path+"{*}", s.AdditionalProperties.Schema, ctx.ChildAdditionalPropertiesContext(s.AdditionalProperties.Schema), env, total)
	}
}

func main() {
	env := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	for _, file := range os.Args[1:] {
		data, err := os.ReadFile(file)
		if err != nil {
			panic(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(data, &crd); err != nil {
			panic(err)
		}
		for _, v := range crd.Spec.Versions {
			var internal apiextensions.JSONSchemaProps
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
				panic(err)
			}
			var total uint64
			fmt.Printf("== %s %s\n", crd.Name, v.Name)
			walk("", &internal, validation.RootCELContext(&internal), env, &total)
			fmt.Printf("== total estimated cost %d (%.4f%% of the 100M per-CRD limit)\n\n", total, float64(total)/float64(validation.StaticEstimatedCRDCostLimit)*100)
		}
	}
}
