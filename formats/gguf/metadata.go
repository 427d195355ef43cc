package gguf

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// Metadata is the ordered key/value table of a GGUF file.
type Metadata struct {
	kv    []KV
	index map[string]int
}

// NewMetadata returns an empty table.
func NewMetadata() *Metadata { return &Metadata{index: map[string]int{}} }

// Set adds or replaces key, keeping the position of an existing key.
func (m *Metadata) Set(key string, v Value) {
	if m.index == nil {
		m.index = map[string]int{}
	}
	if i, ok := m.index[key]; ok {
		m.kv[i].Value = v
		return
	}
	m.index[key] = len(m.kv)
	m.kv = append(m.kv, KV{Key: key, Value: v})
}

// Delete removes key if present.
func (m *Metadata) Delete(key string) {
	i, ok := m.index[key]
	if !ok {
		return
	}
	m.kv = append(m.kv[:i], m.kv[i+1:]...)
	delete(m.index, key)
	for j := i; j < len(m.kv); j++ {
		m.index[m.kv[j].Key] = j
	}
}

// Len is the number of entries.
func (m *Metadata) Len() int { return len(m.kv) }

// Entries returns the entries in file order. The slice must not be modified.
func (m *Metadata) Entries() []KV { return m.kv }

// Get returns the value of key.
func (m *Metadata) Get(key string) (Value, bool) {
	i, ok := m.index[key]
	if !ok {
		return Value{}, false
	}
	return m.kv[i].Value, true
}

// Has reports whether key is present.
func (m *Metadata) Has(key string) bool {
	_, ok := m.index[key]
	return ok
}

// String returns a string value; false when absent or of another type.
func (m *Metadata) String(key string) (string, bool) {
	v, ok := m.Get(key)
	if !ok {
		return "", false
	}
	return v.Str()
}

// Uint returns a non-negative integer value of any integer type.
func (m *Metadata) Uint(key string) (uint64, bool) {
	v, ok := m.Get(key)
	if !ok {
		return 0, false
	}
	return v.Uint()
}

// Float returns a numeric value as float64.
func (m *Metadata) Float(key string) (float64, bool) {
	v, ok := m.Get(key)
	if !ok {
		return 0, false
	}
	return v.Float()
}

// Bool returns a bool value.
func (m *Metadata) Bool(key string) (bool, bool) {
	v, ok := m.Get(key)
	if !ok {
		return false, false
	}
	return v.Bool()
}

// Strings returns an array of strings.
func (m *Metadata) Strings(key string) ([]string, bool) {
	v, ok := m.Get(key)
	if !ok {
		return nil, false
	}
	return v.Strings()
}

// Float32s returns a numeric array as float32 values.
func (m *Metadata) Float32s(key string) ([]float32, bool) {
	v, ok := m.Get(key)
	if !ok {
		return nil, false
	}
	return v.Float32s()
}

// Int32s returns an integer array as int32 values.
func (m *Metadata) Int32s(key string) ([]int32, bool) {
	v, ok := m.Get(key)
	if !ok {
		return nil, false
	}
	return v.Int32s()
}
