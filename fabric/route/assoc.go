package route

import (
	"fmt"
	"maps"
	"slices"
)

// Associations say which table each subnet uses: its explicit association, else the VPC's
// main table. They are resolved when the engine builds its snapshot, so the decision path
// never looks a subnet up by name.
type Associations struct {
	main     string
	explicit map[string]string // subnet -> table
}

// NewAssociations starts with every subnet on the main table.
func NewAssociations(mainTable string) *Associations {
	return &Associations{main: mainTable, explicit: map[string]string{}}
}

// Main is the main table's ID.
func (a *Associations) Main() string { return a.main }

// TableFor returns the table a subnet uses and whether it is associated explicitly.
func (a *Associations) TableFor(subnet string) (table string, explicit bool) {
	if t, ok := a.explicit[subnet]; ok {
		return t, true
	}
	return a.main, false
}

// Associate associates a subnet with a table explicitly, replacing any association it had
// (AssociateRouteTable, ReplaceRouteTableAssociation). A subnet may be associated explicitly
// with the main table, and then stays with it when another table becomes main.
func (a *Associations) Associate(subnet, table string) {
	a.explicit[subnet] = table
}

// Disassociate removes a subnet's explicit association, so it uses the main table again
// (DisassociateRouteTable). A subnet that only uses the main table implicitly has no
// association to remove.
func (a *Associations) Disassociate(subnet string) error {
	if _, ok := a.explicit[subnet]; !ok {
		return fmt.Errorf("subnet %q has no explicit route table association; it uses the main table %q", subnet, a.main)
	}
	delete(a.explicit, subnet)
	return nil
}

// ReplaceMain makes another table the main one (ReplaceRouteTableAssociation on the main
// association): every subnet without an explicit association follows it.
func (a *Associations) ReplaceMain(table string) {
	a.main = table
}

// InUse says whether a table is main or explicitly associated: AWS deletes neither.
func (a *Associations) InUse(table string) bool {
	if table == a.main {
		return true
	}
	for _, t := range a.explicit {
		if t == table {
			return true
		}
	}
	return false
}

// Explicit lists the explicitly associated subnets in order.
func (a *Associations) Explicit() []string {
	return slices.Sorted(maps.Keys(a.explicit))
}
