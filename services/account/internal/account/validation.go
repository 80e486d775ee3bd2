package account

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/altus4/altus/pkg/validate"
)

// Limits of user fields.
const (
	minPasswordChars = 8
	// maxPasswordBytes is bcrypt's limit: longer passwords would be silently
	// truncated, so they are refused.
	maxPasswordBytes = 72
	minNameChars     = 2
	maxNameChars     = 100
	maxEmailChars    = 255
)

// Violation codes of the account fields.
const (
	CodeRequired      = "REQUIRED"
	CodeTooShort      = "TOO_SHORT"
	CodeTooLong       = "TOO_LONG"
	CodeInvalid       = "INVALID"
	CodeIncorrect     = "INCORRECT"
	CodeSameAsCurrent = "SAME_AS_CURRENT"
	CodeNotInFuture   = "NOT_IN_FUTURE"
	CodeDuplicate     = "DUPLICATE"
)

// normalizeEmail trims and lower-cases an email, the form it is stored and
// looked up in.
func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// checkEmail validates a normalised email under field.
func checkEmail(c *validate.Collector, field, email string) {
	switch {
	case email == "":
		c.Add(field, CodeRequired, "Enter an email address.")
	case utf8.RuneCountInString(email) > maxEmailChars:
		c.Add(field, CodeTooLong, "The email address must be at most %d characters.", maxEmailChars)
	default:
		addr, err := mail.ParseAddress(email)
		if err != nil || addr.Address != email || addr.Name != "" {
			c.Add(field, CodeInvalid, "Enter a valid email address, like name@example.com.")
		}
	}
}

// checkPassword validates a new password under field.
func checkPassword(c *validate.Collector, field, password string) {
	switch {
	case password == "":
		c.Add(field, CodeRequired, "Enter a password of at least %d characters.", minPasswordChars)
	case utf8.RuneCountInString(password) < minPasswordChars:
		c.Add(field, CodeTooShort, "The password must be at least %d characters.", minPasswordChars)
	case len(password) > maxPasswordBytes:
		c.Add(field, CodeTooLong, "The password must be at most %d bytes (72 ASCII characters, fewer with accents or symbols).", maxPasswordBytes)
	}
}

// normalizeName trims a display name.
func normalizeName(name string) string { return strings.TrimSpace(name) }

// checkName validates a normalised display name under field.
func checkName(c *validate.Collector, field, name string) {
	n := utf8.RuneCountInString(name)
	switch {
	case name == "":
		c.Add(field, CodeRequired, "Enter a name of at least %d characters.", minNameChars)
	case n < minNameChars:
		c.Add(field, CodeTooShort, "The name must be at least %d characters.", minNameChars)
	case n > maxNameChars:
		c.Add(field, CodeTooLong, "The name must be at most %d characters.", maxNameChars)
	}
}
