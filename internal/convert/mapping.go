// Package convert turns merchant exports into Konnektive legacy import files
// through a YAML mapping: which source file drives each import file, which
// files join it, and how every import column is made (copies, constants,
// value maps, formats, defaults and the process seed's dummy values). It
// also holds the embedded presets and the starter-mapping guesser (--init).
package convert

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/konduit/konduit/internal/exitcode"
	"github.com/konduit/konduit/internal/legacy"
	"go.yaml.in/yaml/v3"
)

// Mapping is a parsed mapping file. docs/mapping.md documents every field.
type Mapping struct {
	Preset         string                 `yaml:"preset"`
	Timezone       string                 `yaml:"timezone"`
	SourceTimezone string                 `yaml:"source_timezone"`
	Sources        map[string]*SourceSpec `yaml:"sources"`
	Maps           map[string]ValueMap    `yaml:"maps"`
	Transactions   *OutputSpec            `yaml:"transactions"`
	Notes          *OutputSpec            `yaml:"notes"`
	Details        *OutputSpec            `yaml:"details"`
	path           string                 // where it was read from, for messages
	order          []string               // source names in file order
}

// SourceSpec names one source table.
type SourceSpec struct {
	// File is a glob on the base name of the file or zip entry
	// ("*orders*.csv"); empty matches by header. Every table it matches is
	// part of the source, read in command-line order (they must share one
	// header): a large export split into several files.
	File string `yaml:"file"`
	// Files are more globs, each matched like File.
	Files []string `yaml:"files"`
	// Encoding and Delimiter override the sniffers.
	Encoding  string `yaml:"encoding"`
	Delimiter string `yaml:"delimiter"`
}

// OutputSpec says how one import file is made.
type OutputSpec struct {
	From       string                 `yaml:"from"`
	Join       []JoinSpec             `yaml:"join"`
	Skip       []Cond                 `yaml:"skip"`
	DistinctBy string                 `yaml:"distinct_by"`
	Columns    map[string]*ColumnSpec `yaml:"columns"`
	// Union appends more driving tables to the same file: each part is laid
	// over this spec (from, join and skip when set; columns one by one, a
	// null column unmapping it) and its rows follow this spec's rows.
	Union []*OutputSpec `yaml:"union"`
}

// parts are the driving tables of an output, in order: the spec itself,
// then each union part laid over it.
func (o *OutputSpec) parts() []*OutputSpec {
	base := *o
	base.Union = nil
	out := []*OutputSpec{&base}
	for _, u := range o.Union {
		if u == nil {
			continue
		}
		p := base
		if u.From != "" {
			p.From = u.From
		}
		if u.Join != nil {
			p.Join = u.Join
		}
		if u.Skip != nil {
			p.Skip = u.Skip
		}
		p.Columns = map[string]*ColumnSpec{}
		for c, s := range base.Columns {
			p.Columns[c] = s
		}
		for c, s := range u.Columns {
			p.Columns[c] = s
		}
		out = append(out, &p)
	}
	return out
}

// JoinSpec joins another source to the driving one on a key.
type JoinSpec struct {
	Source     string `yaml:"source"`
	Key        string `yaml:"key"` // column of the joined source
	On         string `yaml:"on"`  // column of the driving source
	IgnoreCase bool   `yaml:"ignore_case"`
	// Required makes a driving row without a match an error; a join is
	// optional by default (a lookup that only some rows have).
	Required   bool   `yaml:"required"`
	Duplicates string `yaml:"duplicates"` // error (default), first, last
}

// Cond is a condition on a source column's value (trimmed, any case).
type Cond struct {
	Column string   `yaml:"column"`
	In     []string `yaml:"in"`
	NotIn  []string `yaml:"not_in"`
	Empty  *bool    `yaml:"empty"`
}

// DefaultCase is one entry of a conditional default.
type DefaultCase struct {
	When  *Cond  `yaml:"when"`
	Value string `yaml:"value"`
}

// Defaults is a default value: a scalar, or a list of cases tried in order.
type Defaults []DefaultCase

// UnmarshalYAML accepts `default: "x"` and `default: [{when: ..., value: x}]`.
func (d *Defaults) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*d = Defaults{{Value: n.Value}}
		return nil
	}
	var cases []DefaultCase
	if err := n.Decode(&cases); err != nil {
		return err
	}
	*d = cases
	return nil
}

// MapRef is a value map: the name of one under maps:, or an inline map.
type MapRef struct {
	Name   string
	Inline ValueMap
}

// UnmarshalYAML accepts a name or an inline mapping.
func (m *MapRef) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		m.Name = n.Value
		return nil
	}
	return n.Decode(&m.Inline)
}

// ValueMap maps a source value to an import value, or to several import
// columns at once ({campaignId: "12", productId: "34"}).
type ValueMap map[string]MapValue

// MapValue is a scalar or an object keyed by import column. A null (an
// entry --init left for review) is neither, and converting it is an error.
type MapValue struct {
	Scalar *string
	Fields map[string]*string
}

// UnmarshalYAML accepts a scalar or a mapping of scalars.
func (v *MapValue) UnmarshalYAML(n *yaml.Node) error {
	if n.Tag == "!!null" {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		s := n.Value
		v.Scalar = &s
		return nil
	}
	return n.Decode(&v.Fields)
}

// ColumnSpec says how one import column is made. A bare string in YAML is
// a copy of that source column.
type ColumnSpec struct {
	Column    string   `yaml:"column"`
	Columns   []string `yaml:"columns"`
	Separator *string  `yaml:"separator"`
	Const     *string  `yaml:"const"`
	Map       *MapRef  `yaml:"map"`
	Field     string   `yaml:"field"`
	Format    string   `yaml:"format"`
	Layouts   []string `yaml:"layouts"`
	Timezone  string   `yaml:"timezone"`
	Decimal   string   `yaml:"decimal"`
	Cents     bool     `yaml:"cents"`
	Plus      []string `yaml:"plus"`
	Minus     []string `yaml:"minus"`
	Fallback  []string `yaml:"fallback"`
	KeepLast  int      `yaml:"keep_last"`
	Default   Defaults `yaml:"default"`
	Dummy     *string  `yaml:"dummy"`
	// Patch repairs known-bad source values before anything else reads
	// them: a single value or a regular expression, and its replacement.
	Patch []Patch `yaml:"patch"`
	// Prefix and Suffix are added around a non-empty result (a refund's
	// own id from its sale's: suffix "-R").
	Prefix string `yaml:"prefix"`
	Suffix string `yaml:"suffix"`
	// When leaves the column empty on rows where the condition does not
	// hold (a chargeback amount only on charged-back rows).
	When *Cond `yaml:"when"`
	line int
}

// Patch is one repair of a source value: Value (exact, after trimming) or
// Pattern (a Go regular expression matching the whole value), replaced by
// With (for a pattern, $1... name its groups).
type Patch struct {
	Value   *string `yaml:"value"`
	Pattern string  `yaml:"pattern"`
	With    string  `yaml:"with"`
}

// UnmarshalYAML accepts a bare column name or a full spec.
func (c *ColumnSpec) UnmarshalYAML(n *yaml.Node) error {
	c.line = n.Line
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" {
			return nil
		}
		c.Column = n.Value
		return nil
	}
	type plain ColumnSpec
	var p plain
	if err := decodeStrict(n, &p); err != nil {
		return err
	}
	*c = ColumnSpec(p)
	c.line = n.Line
	return nil
}

func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// empty reports whether the spec maps nothing (a YAML null: "to review").
func (c *ColumnSpec) empty() bool {
	return c == nil || (c.Column == "" && len(c.Columns) == 0 && c.Const == nil && len(c.Default) == 0 && c.Dummy == nil && c.Map == nil)
}

// Output returns the spec of a kind, or nil.
func (m *Mapping) Output(k legacy.Kind) *OutputSpec {
	switch k {
	case legacy.Transactions:
		return m.Transactions
	case legacy.Notes:
		return m.Notes
	case legacy.Details:
		return m.Details
	}
	return nil
}

func (m *Mapping) setOutput(k legacy.Kind, o *OutputSpec) {
	switch k {
	case legacy.Transactions:
		m.Transactions = o
	case legacy.Notes:
		m.Notes = o
	case legacy.Details:
		m.Details = o
	}
}

// MappingError is a mistake in the mapping itself (exit status 2).
type MappingError struct {
	File     string
	Problems []string
}

func (e *MappingError) Error() string {
	return fmt.Sprintf("mapping %s: %s", e.File, strings.Join(e.Problems, "; "))
}

// ExitCode makes a bad mapping a configuration error.
func (e *MappingError) ExitCode() int { return exitcode.Usage }

// Hint says where the mapping format is described.
func (e *MappingError) Hint() string { return "see docs/mapping.md for the mapping format" }

//go:embed presets/*.yaml
var presetFS embed.FS

// Presets lists the embedded preset names.
func Presets() []string {
	ents, _ := fs.ReadDir(presetFS, "presets")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// PresetYAML returns a preset's text.
func PresetYAML(name string) ([]byte, error) {
	b, err := presetFS.ReadFile(path.Join("presets", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("unknown preset %q (have %s)", name, strings.Join(Presets(), ", "))
	}
	return b, nil
}

// LoadFile reads a mapping file and the preset it names, if any.
func LoadFile(p string) (*Mapping, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read mapping: %w", err)
	}
	return Load(p, b)
}

// LoadPreset returns an embedded preset as a mapping.
func LoadPreset(name string) (*Mapping, error) {
	b, err := PresetYAML(name)
	if err != nil {
		return nil, &MappingError{File: "preset " + name, Problems: []string{err.Error()}}
	}
	return parse("preset "+name, b)
}

// Load parses a mapping and, when it names a preset, lays it over the preset.
func Load(name string, b []byte) (*Mapping, error) {
	m, err := parse(name, b)
	if err != nil {
		return nil, err
	}
	if m.Preset == "" {
		return m, nil
	}
	base, err := LoadPreset(m.Preset)
	if err != nil {
		return nil, err
	}
	return Overlay(base, m), nil
}

func parse(name string, b []byte) (*Mapping, error) {
	var m Mapping
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return nil, &MappingError{File: name, Problems: []string{err.Error()}}
	}
	m.path = name
	// Keep the sources' order as written: it decides positional matching.
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err == nil && len(root.Content) > 0 {
		top := root.Content[0]
		for i := 0; i+1 < len(top.Content); i += 2 {
			if top.Content[i].Value == "sources" {
				s := top.Content[i+1]
				for j := 0; j+1 < len(s.Content); j += 2 {
					m.order = append(m.order, s.Content[j].Value)
				}
			}
		}
	}
	return &m, nil
}

// Overlay returns base with every entry of top laid over it: scalars when
// set, sources and maps by name, output settings when set and columns one by
// one.
func Overlay(base, top *Mapping) *Mapping {
	out := *base
	out.path = top.path
	out.Preset = top.Preset
	if top.Timezone != "" {
		out.Timezone = top.Timezone
	}
	if top.SourceTimezone != "" {
		out.SourceTimezone = top.SourceTimezone
	}
	out.Sources = map[string]*SourceSpec{}
	for k, v := range base.Sources {
		out.Sources[k] = v
	}
	out.order = append([]string(nil), base.order...)
	for _, k := range top.order {
		if _, ok := base.Sources[k]; !ok {
			out.order = append(out.order, k)
		}
	}
	for k, v := range top.Sources {
		out.Sources[k] = v
	}
	out.Maps = map[string]ValueMap{}
	for k, v := range base.Maps {
		out.Maps[k] = v
	}
	for k, v := range top.Maps {
		out.Maps[k] = v
	}
	for _, k := range legacy.Kinds {
		b, t := base.Output(k), top.Output(k)
		if t == nil {
			continue
		}
		if b == nil {
			out.setOutput(k, t)
			continue
		}
		o := *b
		if t.From != "" {
			o.From = t.From
		}
		if t.Join != nil {
			o.Join = t.Join
		}
		if t.Skip != nil {
			o.Skip = t.Skip
		}
		if t.DistinctBy != "" {
			o.DistinctBy = t.DistinctBy
		}
		if t.Union != nil {
			o.Union = t.Union
		}
		o.Columns = map[string]*ColumnSpec{}
		for c, s := range b.Columns {
			o.Columns[c] = s
		}
		for c, s := range t.Columns {
			o.Columns[c] = s
		}
		out.setOutput(k, &o)
	}
	return &out
}
