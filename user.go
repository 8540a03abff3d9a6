package mediarec

import "time"

// Role is what a user may do: every account is a user; admins may also write
// the catalog.
type Role string

// The roles of an account.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleUser || r == RoleAdmin }

// Preferences are what a user told us they like; recommendations start from
// them before any feedback exists.
type Preferences struct {
	Tags       []string   `json:"tags" validate:"max=50,dive,required,max=100"`
	MediaTypes []ItemType `json:"media_types" validate:"max=4,dive,oneof=book movie documentary podcast"`
}

// User is an account as every layer may show it. It deliberately has no
// password or hash field: the hash stays in the store, so no response, log
// line or event can carry it by accident.
type User struct {
	ID          int64       `json:"id"`
	Email       string      `json:"email"`
	DisplayName string      `json:"display_name"`
	Preferences Preferences `json:"preferences"`
	Role        Role        `json:"role"`
	CreatedAt   time.Time   `json:"created_at"`
}
