package dbproxy

import (
	"fmt"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/mimacrypto/mima/sdk/fieldcrypt"
)

// SQLSTATEs of the proxy's own errors.
const (
	// stateRefused: the statement uses a protected column in a way the
	// proxy cannot answer correctly on ciphertext (feature_not_supported).
	stateRefused = "0A000"
	// stateKeys: a value could not be encrypted or decrypted, mostly
	// because mima is unreachable (system_error).
	stateKeys = "58000"
)

// sqlError is an error the proxy answers a client with.
type sqlError struct {
	state, msg string
	err        error
}

func (e *sqlError) Error() string { return e.msg }
func (e *sqlError) Unwrap() error { return e.err }

func refuse(format string, args ...any) error {
	return &sqlError{state: stateRefused, msg: "mima dbproxy: " + fmt.Sprintf(format, args...)}
}

// paramOp is what the proxy does to a bound parameter: encrypt it for
// col, or give col's blind index of it (index), taking the value of
// parameter from (1-based) when the proxy added the parameter itself.
type paramOp struct {
	col   *Column
	index bool
	from  int
}

// plan is what the proxy does with one SQL string: the SQL to send, what
// to do with its parameters, and how to read its results.
type plan struct {
	sql string
	// params maps a parameter number to its operation; added lists the
	// parameters the proxy appends (numbers clientParams+1...).
	params       map[int]paramOp
	added        []paramOp
	clientParams int
	// tables are the protected tables the SQL names, outputs the result
	// columns it renames (AS) from protected columns: together they say
	// which result columns are protected.
	tables  []string
	outputs map[string]*Column
	// copyCols are the columns of COPY ... FROM STDIN or TO STDOUT, in
	// order (nil entries are plain); copyIn tells the direction.
	copyCols []*Column
	copyIn   bool
}

// encoder turns a literal into what is stored for col (or its index).
type encoder func(col *Column, index bool, value string) (string, error)

// analyze plans sql: it finds every use of a protected column, rewrites
// literals and equality conditions, and refuses what cannot be answered on
// ciphertext. SQL naming no protected table is sent as it is. Plans that
// encrypted no literal are the same for every session and are cached:
// parsing is most of the proxy's work on SQL naming a protected table,
// and applications send the same statements again and again.
func (r *Rules) analyze(sql string, enc encoder) (*plan, error) {
	if !r.mayName(sql) {
		return &plan{sql: sql}, nil
	}
	if p := r.plans.get(sql); p != nil {
		return p, nil
	}
	p, encrypted, err := r.parse(sql, enc)
	if err == nil && !encrypted {
		r.plans.put(sql, p)
	}
	return p, err
}

// parse plans sql with PostgreSQL's parser; encrypted tells whether the
// plan holds literals that enc encrypted.
func (r *Rules) parse(sql string, enc encoder) (p *plan, encrypted bool, err error) {
	p = &plan{sql: sql}
	tree, err := pg.Parse(sql)
	if err != nil {
		// PostgreSQL answers the syntax error itself.
		return p, false, nil
	}
	p.params = map[int]paramOp{}
	a := &analysis{r: r, p: p, enc: enc, handled: map[*pg.ColumnRef]bool{}, maxParam: maxParam(tree)}
	p.clientParams = a.maxParam
	for _, s := range tree.Stmts {
		if err := a.stmt(s.Stmt); err != nil {
			return nil, false, err
		}
	}
	if len(p.tables) == 0 {
		return p, false, nil
	}
	if a.changed {
		if p.sql, err = pg.Deparse(tree); err != nil {
			return nil, false, fmt.Errorf("dbproxy: deparse: %w", err)
		}
	}
	return p, a.encrypted, nil
}

// mayName reports whether sql may name a protected table: the parser is
// spared SQL that does not contain any protected table's name, in any
// case of its ASCII letters (the only ones PostgreSQL folds), and cannot
// spell one with Unicode escapes (U&"..."). It runs on every statement,
// so it allocates nothing.
func (r *Rules) mayName(sql string) bool {
	if containsFold(sql, "u&") {
		return true
	}
	for t := range r.byTable {
		if containsFold(sql, t) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains sub, ASCII letters matching in
// either case.
func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	first := sub[0] | 0x20 // sub's first byte in lower case, if a letter
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i]|0x20 == first && asciiEqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// asciiEqualFold reports whether a and b, of the same length, are equal
// but for the case of ASCII letters.
func asciiEqualFold(a, b string) bool {
	for i := range len(a) {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || x|0x20 < 'a' || x|0x20 > 'z' {
			return false
		}
	}
	return true
}

type analysis struct {
	r        *Rules
	p        *plan
	enc      encoder
	handled  map[*pg.ColumnRef]bool
	aliases  map[string]string // alias or name → protected table
	maxParam int
	changed  bool // the SQL is rewritten
	// encrypted: a literal is, so the plan holds this session's
	// ciphertext (randomized, or of the key's current version).
	encrypted bool
}

// stmt plans one statement.
func (a *analysis) stmt(n *pg.Node) error {
	a.aliases = map[string]string{}
	walk(n.ProtoReflect().Interface(), func(m proto.Message) {
		if rv, ok := m.(*pg.RangeVar); ok && a.r.Table(rv.Relname) != nil {
			a.aliases[rv.Relname] = rv.Relname
			if rv.Alias != nil {
				a.aliases[rv.Alias.Aliasname] = rv.Relname
			}
			a.p.tables = append(a.p.tables, rv.Relname)
		}
	})
	if len(a.aliases) == 0 {
		return nil
	}
	var err error
	switch s := n.Node.(type) {
	case *pg.Node_SelectStmt:
		a.outputsOf(s.SelectStmt.TargetList)
	case *pg.Node_CopyStmt:
		err = a.copyStmt(s.CopyStmt)
	case *pg.Node_PrepareStmt:
		err = refuse("PREPARE of statements on encrypted tables is not supported: use the extended protocol")
	}
	if err != nil {
		return err
	}
	// Every write, at the top or in a WITH clause.
	var writes []proto.Message
	walk(n.ProtoReflect().Interface(), func(m proto.Message) {
		switch m.(type) {
		case *pg.InsertStmt, *pg.UpdateStmt, *pg.MergeStmt:
			writes = append(writes, m)
		}
	})
	for _, w := range writes {
		switch w := w.(type) {
		case *pg.InsertStmt:
			err = a.insert(w)
		case *pg.UpdateStmt:
			err = a.update(w)
		case *pg.MergeStmt:
			if a.r.Table(w.Relation.Relname) != nil {
				err = refuse("MERGE into %s is not supported (it has encrypted columns)", w.Relation.Relname)
			}
		}
		if err != nil {
			return err
		}
	}
	var bad error
	walk(n.ProtoReflect().Interface(), func(m proto.Message) {
		switch x := m.(type) {
		case *pg.A_Expr:
			if bad == nil {
				bad = a.equality(x)
			}
		case *pg.NullTest:
			if cr := x.Arg.GetColumnRef(); cr != nil {
				a.handled[cr] = true
			}
		}
	})
	if bad != nil {
		return bad
	}
	walk(n.ProtoReflect().Interface(), func(m proto.Message) {
		if cr, ok := m.(*pg.ColumnRef); ok && bad == nil && !a.handled[cr] {
			if c := a.column(cr); c != nil {
				bad = refuse("%s.%s is encrypted (%s): only plain reads, writes, IS NULL and = on deterministic, fpe, pseudonym and blind-index columns are supported", c.Table, c.Column, c.Mode)
			}
		}
	})
	return bad
}

// column resolves a column reference to its rule, or nil.
func (a *analysis) column(cr *pg.ColumnRef) *Column {
	var names []string
	for _, f := range cr.Fields {
		s := f.GetString_()
		if s == nil {
			return nil // table.*
		}
		names = append(names, s.Sval)
	}
	col := names[len(names)-1]
	if len(names) > 1 {
		return a.r.Lookup(a.aliases[names[len(names)-2]], col)
	}
	for _, t := range a.aliases {
		if c := a.r.Lookup(t, col); c != nil {
			return c
		}
	}
	return nil
}

// outputsOf marks plain reads of protected columns in a target or
// returning list, and remembers those renamed with AS.
func (a *analysis) outputsOf(list []*pg.Node) {
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil {
			continue
		}
		cr := rt.Val.GetColumnRef()
		if cr == nil {
			continue
		}
		if c := a.column(cr); c != nil {
			a.handled[cr] = true
			if rt.Name != "" {
				if a.p.outputs == nil {
					a.p.outputs = map[string]*Column{}
				}
				a.p.outputs[rt.Name] = c
			}
		}
	}
}

func (a *analysis) insert(s *pg.InsertStmt) error {
	a.outputsOf(s.ReturningList)
	rules := a.r.Table(s.Relation.Relname)
	if rules == nil {
		return nil
	}
	if oc := s.OnConflictClause; oc != nil {
		var err error
		if oc.TargetList, err = a.assign(rules, oc.TargetList); err != nil {
			return err
		}
	}
	if len(s.Cols) == 0 {
		return refuse("INSERT into %s must name its columns (it has encrypted columns)", s.Relation.Relname)
	}
	var values [][]*pg.Node
	if sel := s.SelectStmt.GetSelectStmt(); sel != nil {
		for _, l := range sel.ValuesLists {
			if len(l.GetList().Items) != len(s.Cols) {
				return refuse("INSERT into %s names %d columns but gives %d values", s.Relation.Relname, len(s.Cols), len(l.GetList().Items))
			}
			values = append(values, l.GetList().Items)
		}
	}
	for i, cn := range s.Cols {
		c := rules[cn.GetResTarget().Name]
		if c == nil {
			continue
		}
		if len(values) == 0 {
			return refuse("INSERT into %s.%s must use VALUES", c.Table, c.Column)
		}
		if c.Mode == fieldcrypt.BlindIndex {
			s.Cols = append(s.Cols, pg.MakeResTargetNodeWithName(c.field.IndexColumn, 0))
			for j, l := range s.SelectStmt.GetSelectStmt().ValuesLists {
				n, err := a.indexOf(c, values[j][i])
				if err != nil {
					return err
				}
				l.GetList().Items = append(l.GetList().Items, n)
			}
		}
		for _, row := range values {
			if err := a.value(c, false, row[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *analysis) update(s *pg.UpdateStmt) error {
	a.outputsOf(s.ReturningList)
	rules := a.r.Table(s.Relation.Relname)
	var err error
	s.TargetList, err = a.assign(rules, s.TargetList)
	return err
}

// assign encrypts the values a SET list gives protected columns, and
// sets the index column of each blind-index one.
func (a *analysis) assign(rules map[string]*Column, list []*pg.Node) ([]*pg.Node, error) {
	for _, n := range list {
		rt := n.GetResTarget()
		c := rules[rt.Name]
		if c == nil {
			continue
		}
		if c.Mode == fieldcrypt.BlindIndex {
			in, err := a.indexOf(c, rt.Val)
			if err != nil {
				return nil, err
			}
			list = append(list, pg.MakeResTargetNodeWithNameAndVal(c.field.IndexColumn, in, 0))
		}
		if err := a.value(c, false, rt.Val); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// equality rewrites "col = literal" and "col = $n" on a column whose
// equal values are stored equal.
func (a *analysis) equality(x *pg.A_Expr) error {
	if x.Kind != pg.A_Expr_Kind_AEXPR_OP || len(x.Name) != 1 || x.Name[0].GetString_().GetSval() != "=" {
		return nil
	}
	colSide, valSide := x.Lexpr, x.Rexpr
	if colSide.GetColumnRef() == nil {
		colSide, valSide = valSide, colSide
	}
	cr := colSide.GetColumnRef()
	if cr == nil {
		return nil
	}
	c := a.column(cr)
	if c == nil || !searchable(c.Mode) || !literalOrParam(valSide) {
		return nil
	}
	a.handled[cr] = true
	if c.Mode == fieldcrypt.BlindIndex {
		cr.Fields[len(cr.Fields)-1] = pg.MakeStrNode(c.field.IndexColumn)
		a.changed = true
		return a.value(c, true, valSide)
	}
	return a.value(c, false, valSide)
}

func searchable(m fieldcrypt.Mode) bool {
	return m == fieldcrypt.Deterministic || m == fieldcrypt.BlindIndex || m == fieldcrypt.FPE || m == fieldcrypt.Pseudonym
}

func literalOrParam(n *pg.Node) bool {
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.Arg
	}
	return n.GetParamRef() != nil || n.GetAConst() != nil
}

// value encrypts the literal n, or plans the encryption of parameter n,
// for c (or its index).
func (a *analysis) value(c *Column, index bool, n *pg.Node) error {
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.Arg
	}
	switch {
	case n.GetParamRef() != nil:
		a.p.params[int(n.GetParamRef().Number)] = paramOp{col: c, index: index}
		return nil
	case n.GetAConst() != nil:
		k := n.GetAConst()
		if k.Isnull {
			return nil
		}
		s, ok := k.Val.(*pg.A_Const_Sval)
		if !ok {
			return refuse("%s.%s is encrypted: give its values as strings", c.Table, c.Column)
		}
		out, err := a.enc(c, index, s.Sval.Sval)
		if err != nil {
			return err
		}
		s.Sval.Sval = out
		a.changed, a.encrypted = true, true
		return nil
	}
	return refuse("%s.%s is encrypted: its values must be literals or parameters", c.Table, c.Column)
}

// indexOf returns the node that gives c's blind index of n: a literal, or
// a parameter the proxy adds.
func (a *analysis) indexOf(c *Column, n *pg.Node) (*pg.Node, error) {
	a.changed = true
	if tc := n.GetTypeCast(); tc != nil {
		n = tc.Arg
	}
	if pr := n.GetParamRef(); pr != nil {
		a.maxParam++
		a.p.added = append(a.p.added, paramOp{col: c, index: true, from: int(pr.Number)})
		return pg.MakeParamRefNode(int32(a.maxParam), 0), nil
	}
	n = proto.Clone(n).(*pg.Node)
	if err := a.value(c, true, n); err != nil {
		return nil, err
	}
	return n, nil
}

func (a *analysis) copyStmt(s *pg.CopyStmt) error {
	if s.Relation == nil || s.Filename != "" || s.IsProgram {
		return refuse("COPY touching encrypted columns must be COPY table (columns) FROM STDIN or TO STDOUT")
	}
	rules := a.r.Table(s.Relation.Relname)
	if len(s.Attlist) == 0 {
		return refuse("COPY %s must name its columns (it has encrypted columns)", s.Relation.Relname)
	}
	for _, o := range s.Options {
		d := o.GetDefElem()
		if d.Defname == "format" && d.Arg.GetString_().GetSval() != "text" {
			return refuse("COPY %s: only the text format is supported on encrypted columns", s.Relation.Relname)
		}
		if d.Defname == "delimiter" || d.Defname == "null" {
			return refuse("COPY %s: custom %s is not supported on encrypted columns", s.Relation.Relname, d.Defname)
		}
	}
	for _, n := range s.Attlist {
		c := rules[n.GetString_().GetSval()]
		if c != nil && c.Mode == fieldcrypt.BlindIndex && s.IsFrom {
			return refuse("COPY into %s.%s: blind-index columns need INSERT", c.Table, c.Column)
		}
		a.p.copyCols = append(a.p.copyCols, c)
	}
	a.p.copyIn = s.IsFrom
	return nil
}

// maxParam is the highest $n in the tree.
func maxParam(tree *pg.ParseResult) int {
	n := 0
	walk(tree, func(m proto.Message) {
		if p, ok := m.(*pg.ParamRef); ok && int(p.Number) > n {
			n = int(p.Number)
		}
	})
	return n
}

// walk calls f on m and every message under it.
func walk(m proto.Message, f func(proto.Message)) {
	if m == nil {
		return
	}
	f(m)
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walk(l.Get(i).Message().Interface(), f)
			}
		case fd.Message() != nil && !fd.IsMap():
			walk(v.Message().Interface(), f)
		}
		return true
	})
}
