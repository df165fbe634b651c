package study

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// This file is the only one that knows the YAML library: it turns a study
// file's syntax tree into nodes, the plain values the parser reads, with
// anchors and aliases resolved and scalars typed by the YAML 1.2 core schema.
// The library (github.com/goccy/go-yaml) was picked because its syntax
// errors name the line of the offending token (unclosed brackets, bad
// indentation, tabs), where gopkg.in/yaml.v3 and its fork go.yaml.in/yaml/v3
// name the line of the enclosing key.

type nodeKind int

const (
	scalarNode nodeKind = iota
	listNode
	mapNode
)

// node is a YAML value: a scalar, a list or a mapping.
type node struct {
	kind  nodeKind
	tag   string  // scalar: "str", "int", "float", "bool" or "null"
	text  string  // scalar: the value as written, without quotes
	line  int     // 1-based
	items []*node // list: the items
	pairs []pair  // mapping: the entries in file order (keys may repeat)
}

// pair is one key: value entry of a mapping; keys are scalars.
type pair struct{ key, value *node }

// parseYAML reads src, a single YAML document, into nodes. A syntax error
// is a *StudyError at the line of the offending token; a file without a
// document gives a nil node.
func parseYAML(src []byte, file string) (*node, error) {
	f, err := yamlparser.ParseBytes(src, 0, yamlparser.AllowDuplicateMapKey()) // the study parser names repeated keys itself
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil {
			pos, msg := ye.GetToken().Position, ye.GetMessage()
			if strings.Contains(msg, "'\t'") {
				msg = "a tab, which YAML does not allow for indentation: indent with spaces"
			}
			return nil, &StudyError{file, pos.Line, "syntax", fmt.Sprintf("%s (column %d)", msg, pos.Column)}
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d.Body != nil {
			docs = append(docs, d)
		}
	}
	switch len(docs) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, &StudyError{file, docs[1].Body.GetToken().Position.Line, "syntax", "a study file holds one YAML document (found a second after ---)"}
	}
	c := converter{file: file, anchors: map[string]*node{}}
	n := c.convert(docs[0].Body)
	if c.err != nil {
		return nil, c.err
	}
	return n, nil
}

// converter turns a syntax tree into nodes, remembering anchors for the
// aliases after them.
type converter struct {
	file    string
	anchors map[string]*node
	err     error // the first problem
}

func (c *converter) fail(tk *token.Token, format string, a ...any) *node {
	if c.err == nil {
		c.err = &StudyError{c.file, tk.Position.Line, "syntax", fmt.Sprintf(format, a...)}
	}
	return &node{kind: scalarNode, tag: "null", line: tk.Position.Line}
}

func (c *converter) convert(n ast.Node) *node {
	tk := n.GetToken()
	line := tk.Position.Line
	switch n := n.(type) {
	case *ast.MappingNode:
		m := &node{kind: mapNode, line: line}
		for _, kv := range n.Values {
			m.pairs = append(m.pairs, c.entry(kv))
		}
		return m
	case *ast.MappingValueNode: // a mapping of one entry
		return &node{kind: mapNode, line: line, pairs: []pair{c.entry(n)}}
	case *ast.SequenceNode:
		l := &node{kind: listNode, line: line}
		for _, v := range n.Values {
			l.items = append(l.items, c.convert(v))
		}
		return l
	case *ast.AnchorNode:
		v := c.convert(n.Value)
		c.anchors[n.Name.GetToken().Value] = v
		return v
	case *ast.AliasNode:
		name := n.Value.GetToken().Value
		v, ok := c.anchors[name]
		if !ok {
			return c.fail(tk, "alias *%s names no anchor &%s above it", name, name)
		}
		return v
	case *ast.TagNode:
		return c.tagged(tk, c.convert(n.Value))
	case *ast.LiteralNode: // | and > blocks
		return &node{kind: scalarNode, tag: "str", text: n.Value.Value, line: line}
	case *ast.StringNode:
		if tk.Type == token.SingleQuoteType || tk.Type == token.DoubleQuoteType {
			return &node{kind: scalarNode, tag: "str", text: n.Value, line: line}
		}
		return plainScalar(tk.Value, line)
	case *ast.NullNode:
		if tk.Type == token.ImplicitNullType { // `key:` with nothing after it
			return &node{kind: scalarNode, tag: "null", line: line}
		}
		return plainScalar(tk.Value, line)
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return plainScalar(tk.Value, line)
	case *ast.MergeKeyNode:
		return &node{kind: scalarNode, tag: "str", text: tk.Value, line: line}
	}
	return c.fail(tk, "unsupported YAML construct %s", n.Type().YAMLName())
}

func (c *converter) entry(kv *ast.MappingValueNode) pair {
	k := c.convert(kv.Key)
	if k.kind != scalarNode {
		c.fail(kv.Key.GetToken(), "a mapping key must be a plain name")
	}
	return pair{k, c.convert(kv.Value)}
}

// tagged applies an explicit core-schema tag (!!str, !!int, !!float,
// !!bool, !!null) to a scalar.
func (c *converter) tagged(tk *token.Token, v *node) *node {
	tag := strings.TrimPrefix(tk.Value, "!!")
	switch tag {
	case "str", "int", "float", "bool", "null", "seq", "map":
	default:
		return c.fail(tk, "unsupported tag %s (write the value plainly)", tk.Value)
	}
	if v.kind != scalarNode {
		if (tag == "seq" && v.kind == listNode) || (tag == "map" && v.kind == mapNode) {
			return v
		}
		return c.fail(tk, "tag %s does not fit a %s", tk.Value, map[nodeKind]string{listNode: "list", mapNode: "mapping"}[v.kind])
	}
	t := *v
	switch {
	case tag == "str":
		t.tag = "str"
	case tag == "float" && v.tag == "int":
		t.tag = "float"
	case tag == v.tag && (tag == "int" || tag == "float" || tag == "bool" || tag == "null"):
	default:
		return c.fail(tk, "cannot read %q as %s", v.text, tk.Value)
	}
	return &t
}

// yamlFloat is a YAML 1.2 core-schema float (also gopkg.in/yaml.v3's, which
// read study files before).
var yamlFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// plainScalar types an unquoted scalar by the YAML 1.2 core schema (the
// library reads 1e-3 as text: it wants a dot in a float).
func plainScalar(s string, line int) *node {
	n := &node{kind: scalarNode, text: s, line: line}
	switch s {
	case "", "~", "null", "Null", "NULL":
		n.tag = "null"
	case "true", "True", "TRUE", "false", "False", "FALSE":
		n.tag = "bool"
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
		n.tag = "float"
	default:
		switch _, err := parseInt(s); {
		case err == nil:
			n.tag = "int"
		case yamlFloat.MatchString(strings.ReplaceAll(s, "_", "")):
			n.tag = "float"
		default:
			n.tag = "str"
		}
	}
	return n
}

// parseInt reads a core-schema integer: decimal, 0o octal or 0x hex (with
// optional _ separators).
func parseInt(s string) (int64, error) {
	s = strings.ReplaceAll(s, "_", "")
	sign, digits := "", s
	if s != "" && (s[0] == '+' || s[0] == '-') {
		sign, digits = s[:1], s[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(digits, "0o"):
		base, digits = 8, digits[2:]
	case strings.HasPrefix(digits, "0x"):
		base, digits = 16, digits[2:]
	}
	if digits == "" || strings.ContainsAny(digits[:1], "+-") {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(sign+digits, base, 64)
}

// number reads an int or float scalar.
func (n *node) number() (float64, bool) {
	switch {
	case n.kind != scalarNode:
	case n.tag == "int":
		i, err := parseInt(n.text)
		return float64(i), err == nil
	case n.tag == "float":
		s := strings.ReplaceAll(n.text, "_", "")
		switch strings.ToLower(strings.TrimPrefix(s, "+")) {
		case ".inf":
			return math.Inf(1), true
		case "-.inf":
			return math.Inf(-1), true
		case ".nan":
			return math.NaN(), true
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	return 0, false
}

// describe renders a value briefly for messages: scalars as written (text
// quoted), lists as [a, b], mappings as {k: v}.
func (n *node) describe() string {
	switch n.kind {
	case listNode:
		parts := make([]string, len(n.items))
		for i, c := range n.items {
			parts[i] = c.describe()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case mapNode:
		parts := make([]string, len(n.pairs))
		for i, kv := range n.pairs {
			parts[i] = kv.key.text + ": " + kv.value.describe()
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	switch n.tag {
	case "str":
		return strconv.Quote(n.text)
	case "null":
		return "null"
	}
	return n.text
}

// shown is a value as shown in results: scalars as written (without
// quotes), lists as [a, b].
func (n *node) shown() string {
	if n.kind == scalarNode {
		return n.text
	}
	return n.describe()
}
