package study

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

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
func configKeys() []string {
	keys := make([]string, 0, len(configFields))
	for k := range configFields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkConfigKey reports whether key names a settable Config field.
func checkConfigKey(key string) error {
	if key == "seed" {
		return fmt.Errorf("the seed is not a config key: each unit derives its seed from the study's top-level seed")
	}
	if _, ok := configFields[key]; !ok {
		return errors.New(unknownKey("config key", key, configKeys()))
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

// checkValue says whether n suits the field named by key: numbers for float
// fields, integers for int fields, true/false, text, and a list of integers
// (or one integer) for hidden.
func checkValue(key string, n *node) error {
	var cfg engine.Config
	v, err := configField(&cfg, key)
	if err != nil {
		return err
	}
	scalar := n.kind == scalarNode
	switch v.Kind() {
	case reflect.Float64:
		if _, ok := n.number(); !ok {
			if scalar && (n.tag == "float" || n.tag == "int") { // a number too large for float64 or int64
				return fmt.Errorf("%s is out of range", n.text)
			}
			return fmt.Errorf("want a number, got %s", n.describe())
		}
	case reflect.Int, reflect.Int64:
		if !scalar || n.tag != "int" {
			return fmt.Errorf("want an integer, got %s", n.describe())
		}
		x, err := parseInt(n.text)
		if err != nil {
			return fmt.Errorf("want an integer, got %s (out of range)", n.describe())
		}
		if x < 1 {
			return errCountBelowOne(key, n.text)
		}
		if x > MaxEpochs {
			return fmt.Errorf("%s is over the limit of %d", n.text, MaxEpochs)
		}
	case reflect.Bool:
		if !scalar || n.tag != "bool" {
			return fmt.Errorf("want true or false, got %s", n.describe())
		}
	case reflect.String:
		if !scalar || n.tag != "str" {
			return fmt.Errorf("want a name, got %s", n.describe())
		}
	case reflect.Slice: // hidden: [128, 64], or 128 for one layer
		if scalar && n.tag == "int" {
			return nil
		}
		if n.kind != listNode {
			return fmt.Errorf("want a list of layer widths such as [128, 64], got %s", n.describe())
		}
		for _, c := range n.items {
			if c.kind != scalarNode || c.tag != "int" {
				return fmt.Errorf("want a list of layer widths (integers), got %s in it", c.describe())
			}
		}
	default:
		return fmt.Errorf("field of kind %v cannot be set from a study", v.Kind())
	}
	return nil
}

// errCountBelowOne refuses a batch or epoch count below 1 written in a
// study: engine.Config reads 0 as "the default" (batch 128, 10 epochs), so
// a written 0 would train at the default while the results show 0.
func errCountBelowOne(key, text string) error {
	return fmt.Errorf("%s (want an integer ≥ 1; leave %s out for its default)", text, key)
}

// valueOf is the plain value of n, a value checkValue accepted for some key.
func valueOf(n *node) value {
	v := value{text: n.shown(), line: n.line}
	switch {
	case n.kind == listNode:
		widths := make([]int, len(n.items))
		for i, c := range n.items {
			w, _ := parseInt(c.text)
			widths[i] = int(w)
		}
		v.x = widths
	case n.tag == "int":
		v.x, _ = parseInt(n.text)
	case n.tag == "float":
		v.x, _ = n.number()
	case n.tag == "bool":
		v.x = n.text[0] == 't' || n.text[0] == 'T'
	case n.tag == "str":
		v.x = n.text
	}
	return v
}

// setField sets the field of cfg named by key to v.
func setField(cfg *engine.Config, key string, v value) error {
	f, err := configField(cfg, key)
	if err != nil {
		return err
	}
	switch x := v.x.(type) {
	case int64:
		switch f.Kind() {
		case reflect.Float64:
			f.SetFloat(float64(x))
			return nil
		case reflect.Int, reflect.Int64:
			f.SetInt(x)
			return nil
		case reflect.Slice:
			f.Set(reflect.ValueOf([]int{int(x)}))
			return nil
		}
	case float64:
		if f.Kind() == reflect.Float64 {
			f.SetFloat(x)
			return nil
		}
	case bool:
		if f.Kind() == reflect.Bool {
			f.SetBool(x)
			return nil
		}
	case string:
		if f.Kind() == reflect.String {
			f.SetString(x)
			return nil
		}
	case []int:
		if f.Kind() == reflect.Slice {
			f.Set(reflect.ValueOf(slices.Clone(x)))
			return nil
		}
	}
	return fmt.Errorf("cannot set %s to %s", key, v.text)
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
