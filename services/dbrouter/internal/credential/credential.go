// Package credential encrypts the passwords of the users' databases at rest
// with AES-256-GCM, in the format Altus 4 v1 stored them, so that v1 rows
// decrypt unchanged: "ivHex:tagHex:cipherHex" with a 16-byte random IV and
// the 16-byte GCM tag kept apart from the ciphertext (the layout of Node's
// crypto.createCipheriv("aes-256-gcm", key, iv) with getAuthTag()).
package credential

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Sizes of the stored format.
const (
	KeySize = 32
	IVSize  = 16
	TagSize = 16
)

// ErrMalformed means a stored value is not in the "iv:tag:cipher" form.
var ErrMalformed = errors.New("credential: malformed encrypted value")

// ErrDecrypt means a stored value does not authenticate under the key: it
// was tampered with or encrypted with another ENCRYPTION_KEY.
var ErrDecrypt = errors.New("credential: value does not decrypt with this key")

// Cipher encrypts and decrypts credentials with one key. It is safe for
// concurrent use.
type Cipher struct {
	aead cipher.AEAD
}

// New returns a Cipher for a 32-byte key (ENCRYPTION_KEY decoded).
func New(key []byte) (*Cipher, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("credential: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	aead, err := cipher.NewGCMWithNonceSize(block, IVSize)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	return &Cipher{aead: aead}, nil
}

// Encrypt seals plaintext under a fresh random IV and returns "ivHex:tagHex:cipherHex".
func (c *Cipher) Encrypt(plaintext string) (string, error) {
	iv := make([]byte, IVSize)
	if _, err := rand.Read(iv); err != nil {
		return "", fmt.Errorf("credential: random IV: %w", err)
	}
	return c.encryptWithIV(plaintext, iv), nil
}

func (c *Cipher) encryptWithIV(plaintext string, iv []byte) string {
	sealed := c.aead.Seal(nil, iv, []byte(plaintext), nil)
	body, tag := sealed[:len(sealed)-TagSize], sealed[len(sealed)-TagSize:]
	return hex.EncodeToString(iv) + ":" + hex.EncodeToString(tag) + ":" + hex.EncodeToString(body)
}

// Decrypt opens a value produced by Encrypt (or by Altus 4 v1).
func (c *Cipher) Decrypt(stored string) (string, error) {
	parts := strings.Split(stored, ":")
	if len(parts) != 3 {
		return "", ErrMalformed
	}
	iv, err1 := hex.DecodeString(parts[0])
	tag, err2 := hex.DecodeString(parts[1])
	body, err3 := hex.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(iv) != IVSize || len(tag) != TagSize {
		return "", ErrMalformed
	}
	plain, err := c.aead.Open(nil, iv, append(body, tag...), nil)
	if err != nil {
		return "", ErrDecrypt
	}
	return string(plain), nil
}
