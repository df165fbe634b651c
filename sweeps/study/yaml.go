package study

import (
	"bytes"
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
	count int     // size(), once computed
}

// size counts n's values, n included, aliases expanded (nodes reached by
// several paths count each time), saturating above MaxNodes.
func (n *node) size() int {
	if n.count == 0 {
		n.count = 1
		for _, c := range n.items {
			n.count = min(n.count+c.size(), MaxNodes+1)
		}
		for _, kv := range n.pairs {
			n.count = min(n.count+kv.key.size()+kv.value.size(), MaxNodes+1)
		}
	}
	return n.count
}

// pair is one key: value entry of a mapping; keys are scalars.
type pair struct{ key, value *node }

// Limits on a study file's YAML, checked before the YAML library or the
// parser allocates for it, so that a hostile file (deep nesting, an alias
// bomb) fails at once with a message naming the limit.
const (
	// MaxFileBytes and MaxLines bound a study file's size. The YAML
	// library allocates some 600 bytes per byte of a long flow list, and
	// time and memory quadratic in the entries of a block mapping (4,096
	// entries: 74 MB; 8,192: 290 MB), so a hostile file must be small;
	// a study file is a few dozen lines.
	MaxFileBytes = 128 << 10
	MaxLines     = 4096
	// MaxDepth bounds the nesting of lists and mappings.
	MaxDepth = 64
	// MaxNodes bounds the values of the document once every alias is
	// expanded: an alias counts as a copy of its anchor's value.
	MaxNodes = 1_000_000
)

// parseYAML reads src, a single YAML document, into nodes. A syntax error
// is a *StudyError at the line of the offending token; a file without a
// document gives a nil node.
func parseYAML(src []byte, file string) (*node, error) {
	if len(src) > MaxFileBytes {
		return nil, &StudyError{file, 1, "study", fmt.Sprintf("the file is %d bytes, over the limit of %d for a study file", len(src), MaxFileBytes)}
	}
	if lines := bytes.Count(src, []byte("\n")) + 1; lines > MaxLines {
		return nil, &StudyError{file, MaxLines + 1, "study", fmt.Sprintf("the file has %d lines, over the limit of %d for a study file (write long lists of values as [a, b, …])", lines, MaxLines)}
	}
	if line, depth := flowDepth(src); depth > MaxDepth {
		return nil, &StudyError{file, line, "syntax", fmt.Sprintf("brackets nested %d deep, over the limit of %d", depth, MaxDepth)}
	}
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

// flowDepth returns the deepest nesting of [ and { in src and its line.
// It does not skip quoted text or comments, so it may count brackets that
// are text: it only has to be an upper bound of the YAML library's
// recursion, which grows with flow nesting.
func flowDepth(src []byte) (line, deepest int) {
	depth, l := 0, 1
	for _, c := range src {
		switch c {
		case '\n':
			l++
		case '[', '{':
			if depth++; depth > deepest {
				deepest, line = depth, l
			}
		case ']', '}':
			depth = max(0, depth-1)
		}
	}
	return line, deepest
}

// converter turns a syntax tree into nodes, remembering anchors for the
// aliases after them. It enforces MaxDepth and MaxNodes.
type converter struct {
	file    string
	anchors map[string]*node
	depth   int   // lists and mappings open around the node being converted
	nodes   int   // values so far, aliases expanded
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
	if c.err != nil {
		return &node{kind: scalarNode, tag: "null", line: line}
	}
	c.nodes++
	if c.nodes > MaxNodes {
		return c.fail(tk, "the document has over %d values once its aliases are expanded (the limit)", MaxNodes)
	}
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
		c.depth++
		defer func() { c.depth-- }()
		if c.depth > MaxDepth {
			return c.fail(tk, "lists and mappings nested %d deep, over the limit of %d", c.depth, MaxDepth)
		}
	}
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
		if c.nodes += v.size() - 1; c.nodes > MaxNodes {
			return c.fail(tk, "the document has over %d values once its aliases are expanded (the limit): alias *%s repeats %d", MaxNodes, name, v.size())
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
// quoted), lists as [a, b], mappings as {k: v}, cut after describeMax bytes.
func (n *node) describe() string {
	var b strings.Builder
	n.render(&b, describeMax)
	return b.String()
}

// describeMax bounds describe's text: a message quotes a value, not a file.
const describeMax = 200

// render writes describe's text to b, stopping with "…" once b holds
// limit bytes (no limit when limit < 0).
func (n *node) render(b *strings.Builder, limit int) {
	if limit >= 0 && b.Len() >= limit {
		if !strings.HasSuffix(b.String(), "…") {
			b.WriteString("…")
		}
		return
	}
	switch n.kind {
	case listNode:
		b.WriteByte('[')
		for i, c := range n.items {
			if limit >= 0 && b.Len() >= limit {
				b.WriteString(", …")
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			c.render(b, limit)
		}
		b.WriteByte(']')
		return
	case mapNode:
		b.WriteByte('{')
		for i, kv := range n.pairs {
			if limit >= 0 && b.Len() >= limit {
				b.WriteString(", …")
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(kv.key.text + ": ")
			kv.value.render(b, limit)
		}
		b.WriteByte('}')
		return
	}
	text := n.text
	switch n.tag {
	case "str":
		text = strconv.Quote(n.text)
	case "null":
		text = "null"
	}
	if limit >= 0 && b.Len()+len(text) > limit {
		text = strings.ToValidUTF8(text[:max(0, limit-b.Len())], "") + "…"
	}
	b.WriteString(text)
}

// shown is a value as shown in results: scalars as written (without
// quotes), lists as [a, b].
func (n *node) shown() string {
	if n.kind == scalarNode {
		return n.text
	}
	var b strings.Builder
	n.render(&b, -1)
	return b.String()
}
