package credential

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustKey(t *testing.T, h string) []byte {
	t.Helper()
	k, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const testKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// nodeVector was produced by Node.js 20:
//
//	c = crypto.createCipheriv("aes-256-gcm", key, iv)
//	e = c.update("s3cret-p@ss wörd", "utf8", "hex") + c.final("hex")
//	iv.toString("hex") + ":" + c.getAuthTag().toString("hex") + ":" + e
const nodeVector = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf:93f4e3a6049d3ac61a24e5a147981da8:599040ce7db9e00683ed6c919ad73be2e6"

func TestDecryptsValueWrittenByNodeCrypto(t *testing.T) {
	c, err := New(mustKey(t, testKey))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decrypt(nodeVector)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if diff := cmp.Diff("s3cret-p@ss wörd", got); diff != "" {
		t.Errorf("plaintext (-want +got):\n%s", diff)
	}
}

func TestEncryptWithIVMatchesNodeCrypto(t *testing.T) {
	c, err := New(mustKey(t, testKey))
	if err != nil {
		t.Fatal(err)
	}
	got := c.encryptWithIV("s3cret-p@ss wörd", mustKey(t, "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"))
	if diff := cmp.Diff(nodeVector, got); diff != "" {
		t.Errorf("stored form (-want +got):\n%s", diff)
	}
}

func TestEncryptRoundTripsWithFreshIV(t *testing.T) {
	c, err := New(mustKey(t, testKey))
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"", "p", "a longer password with ünïcode and : colons"} {
		a, err := c.Encrypt(plain)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Encrypt(plain)
		if err != nil {
			t.Fatal(err)
		}
		if a == b {
			t.Errorf("two encryptions of %q are equal; the IV must be random", plain)
		}
		parts := strings.Split(a, ":")
		if len(parts) != 3 || len(parts[0]) != 2*IVSize || len(parts[1]) != 2*TagSize || len(parts[2]) != 2*len(plain) {
			t.Errorf("stored form %q is not ivHex:tagHex:cipherHex", a)
		}
		got, err := c.Decrypt(a)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if got != plain {
			t.Errorf("round trip = %q, want %q", got, plain)
		}
	}
}

func TestDecryptRejectsTamperedAndMalformedValues(t *testing.T) {
	c, err := New(mustKey(t, testKey))
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(mustKey(t, strings.Repeat("ff", 32)))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == '0' {
			b[i] = '1'
		} else {
			b[i] = '0'
		}
		return string(b)
	}
	iv, tag, body := nodeVector[:32], nodeVector[33:65], nodeVector[66:]
	tests := []struct {
		name   string
		cipher *Cipher
		stored string
		want   error
	}{
		{"flipped ciphertext", c, iv + ":" + tag + ":" + flip(body, 3), ErrDecrypt},
		{"flipped tag", c, iv + ":" + flip(tag, 0) + ":" + body, ErrDecrypt},
		{"flipped iv", c, flip(iv, 5) + ":" + tag + ":" + body, ErrDecrypt},
		{"truncated ciphertext", c, iv + ":" + tag + ":" + body[:len(body)-2], ErrDecrypt},
		{"other key", other, nodeVector, ErrDecrypt},
		{"two parts", c, iv + ":" + body, ErrMalformed},
		{"not hex", c, iv + ":" + tag + ":zz", ErrMalformed},
		{"short iv", c, iv[:24] + ":" + tag + ":" + body, ErrMalformed},
		{"plaintext password", c, "hunter2", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cipher.Decrypt(tt.stored)
			if !errors.Is(err, tt.want) {
				t.Errorf("Decrypt error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewRejectsKeysOfTheWrongSize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New(%d-byte key) succeeded, want an error", n)
		}
	}
}
