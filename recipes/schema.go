package recipes

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// Schema returns a JSON Schema (draft 2020-12) for recipe files, generated from
// the Go types and their tags, so that editors (the YAML language server, for one)
// complete and check recipes. The task section allows the options of every task
// type that tasks knows.
func Schema(tasks TaskTypes) ([]byte, error) {
	root := schemaOf(reflect.TypeFor[Recipe](), "")
	props := root["properties"].(map[string]any)
	var names []string
	var branches []any
	if tasks != nil {
		names = tasks.TaskNames()
		for _, name := range names {
			opts, _ := tasks.TaskOptions(name)
			s := schemaOf(reflect.TypeOf(opts).Elem(), "")
			p := s["properties"].(map[string]any)
			p["type"] = map[string]any{"const": name}
			branches = append(branches, map[string]any{
				"if":   map[string]any{"properties": map[string]any{"type": map[string]any{"const": name}}},
				"then": s,
			})
		}
	}
	task := map[string]any{
		"type":        "object",
		"description": "the task type and its own options",
		"required":    []string{"type"},
		"properties":  map[string]any{"type": map[string]any{"enum": names, "description": "task type"}},
	}
	if len(branches) > 0 {
		task["allOf"] = branches
	}
	props["task"] = task
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = "https://github.com/seqkit/seqkit/recipe.schema.json"
	root["title"] = "seqkit recipe"
	return json.MarshalIndent(root, "", "  ")
}

func schemaOf(t reflect.Type, doc string) map[string]any {
	return schemaIn(t, doc, map[reflect.Type]bool{})
}

// schemaIn is schemaOf inside the structs of open: a struct that contains itself
// (the target tokenizer of a tokenizer) is described once, its inner copy as
// any object.
func schemaIn(t reflect.Type, doc string, open map[reflect.Type]bool) map[string]any {
	s := map[string]any{}
	if doc != "" {
		s["description"] = doc
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaIn(t.Elem(), doc, open)
	case reflect.Struct:
		s["type"] = "object"
		if open[t] {
			return s
		}
		open[t] = true
		defer delete(open, t)
		s["additionalProperties"] = false
		props := map[string]any{}
		for name, f := range recipeFields(t) {
			p := schemaIn(f.Type, f.Tag.Get("doc"), open)
			if e := f.Tag.Get("enum"); e != "" {
				p["enum"] = strings.Split(e, ",")
			}
			if m := f.Tag.Get("min"); m != "" {
				v, _ := strconv.ParseFloat(m, 64)
				if f.Tag.Get("exclusiveMin") == "true" {
					p["exclusiveMinimum"] = v
				} else {
					p["minimum"] = v
				}
			}
			if m := f.Tag.Get("max"); m != "" {
				v, _ := strconv.ParseFloat(m, 64)
				p["maximum"] = v
			}
			props[name] = p
		}
		s["properties"] = props
	case reflect.Slice:
		s["type"] = "array"
		s["items"] = schemaIn(t.Elem(), "", open)
	case reflect.Map:
		s["type"] = "object"
		s["additionalProperties"] = map[string]any{"type": []string{"string", "number", "boolean"}}
	case reflect.String:
		s["type"] = "string"
	case reflect.Bool:
		s["type"] = "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		s["type"] = "integer"
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		s["type"] = "integer"
		s["minimum"] = 0
	case reflect.Float32, reflect.Float64:
		s["type"] = "number"
	}
	return s
}
