package study

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mlpsweep/mlpsweep/engine"
)

// configFields maps each engine.Config JSON key that a study may set to the
// field's index. The seed is left out: every unit derives its own.
var configFields = func() map[string][]int {
	m := map[string][]int{}
	t := reflect.TypeFor[engine.Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if key != "" && key != "-" && key != "seed" {
			m[key] = f.Index
		}
	}
	return m
}()

// configKeys lists the keys of configFields, sorted, for error messages.
func configKeys() string {
	keys := make([]string, 0, len(configFields))
	for k := range configFields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// checkConfigKey reports whether key names a settable Config field.
func checkConfigKey(key string) error {
	if key == "seed" {
		return fmt.Errorf("the seed is not a config key: each unit derives its seed from the study's top-level seed")
	}
	if _, ok := configFields[key]; !ok {
		return fmt.Errorf("unknown config key (want one of %s)", configKeys())
	}
	return nil
}

// configField returns the addressable field of cfg named by JSON key.
func configField(cfg *engine.Config, key string) (reflect.Value, error) {
	if err := checkConfigKey(key); err != nil {
		return reflect.Value{}, err
	}
	return reflect.ValueOf(cfg).Elem().FieldByIndex(configFields[key]), nil
}

// setConfigField sets the field of cfg named by key from a YAML value,
// checking its type: numbers for float fields, integers for int fields,
// true/false, text, and a list of integers (or one integer) for hidden.
func setConfigField(cfg *engine.Config, key string, n *yaml.Node) error {
	v, err := configField(cfg, key)
	if err != nil {
		return err
	}
	tag := n.ShortTag()
	scalar := n.Kind == yaml.ScalarNode
	switch v.Kind() {
	case reflect.Float64:
		if !scalar || (tag != "!!int" && tag != "!!float") {
			return fmt.Errorf("want a number, got %s", describeNode(n))
		}
	case reflect.Int, reflect.Int64:
		if !scalar || tag != "!!int" {
			return fmt.Errorf("want an integer, got %s", describeNode(n))
		}
	case reflect.Bool:
		if !scalar || tag != "!!bool" {
			return fmt.Errorf("want true or false, got %s", describeNode(n))
		}
	case reflect.String:
		if !scalar || tag != "!!str" {
			return fmt.Errorf("want a name, got %s", describeNode(n))
		}
	case reflect.Slice: // hidden: [128, 64], or 128 for one layer
		if scalar && tag == "!!int" {
			n = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{n}}
		}
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("want a list of layer widths, got %s", describeNode(n))
		}
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || c.ShortTag() != "!!int" {
				return fmt.Errorf("want a list of layer widths (integers), got %s in it", describeNode(c))
			}
		}
	default:
		return fmt.Errorf("field of kind %v cannot be set from a study", v.Kind())
	}
	fresh := reflect.New(v.Type())
	if err := n.Decode(fresh.Interface()); err != nil {
		return fmt.Errorf("bad value %s: %v", describeNode(n), err)
	}
	v.Set(fresh.Elem())
	return nil
}

// setConfigNumber sets a float or int field of cfg from a sampled number.
func setConfigNumber(cfg *engine.Config, key string, x float64) error {
	v, err := configField(cfg, key)
	if err != nil {
		return err
	}
	switch v.Kind() {
	case reflect.Float64:
		v.SetFloat(x)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(x))
	default:
		return fmt.Errorf("is not numeric")
	}
	return nil
}

// isIntField and isFloatField tell which sampling distributions suit key.
func isIntField(key string) bool {
	var c engine.Config
	v, err := configField(&c, key)
	return err == nil && (v.Kind() == reflect.Int || v.Kind() == reflect.Int64)
}

func isFloatField(key string) bool {
	var c engine.Config
	v, err := configField(&c, key)
	return err == nil && v.Kind() == reflect.Float64
}

// describe renders a YAML value briefly for messages and axis values:
// scalars as written, lists as [a, b], mappings as {k: v}.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return strconv.Quote(n.Value)
		case "!!null":
			return "null"
		}
		return n.Value
	case yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, c := range n.Content {
			parts[i] = describeNode(c)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case yaml.MappingNode:
		parts := make([]string, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			parts = append(parts, n.Content[i].Value+": "+describeNode(n.Content[i+1]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case yaml.AliasNode:
		return describeNode(n.Alias)
	}
	return "nothing"
}

// valueText is an axis value as shown in results: scalars as written
// (without quotes), lists as [a, b].
func valueText(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return describeNode(n)
}
