package account_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/altus4/altus/pkg/identity"
	"github.com/altus4/altus/services/account/internal/account"
)

func TestLookupUsersAnswersAdminsInTheOrderAskedLeavingUnknownIdsOut(t *testing.T) {
	e := newEnv(t)
	a1, p1 := e.register(t, "first@example.com")
	a2, _ := e.register(t, "second@example.com")
	e.makeAdmin(t, p1.UserID)
	admin := e.verify(t, a1.Token)
	if !admin.IsAdmin() {
		t.Fatalf("principal after the role change: %+v", admin)
	}
	ctx := context.Background()

	got, err := e.svc.LookupUsers(ctx, admin, []string{a2.Profile.User.ID, "00000000-0000-0000-0000-000000000000", a1.Profile.User.ID, a2.Profile.User.ID})
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, u := range got {
		emails = append(emails, u.Email)
	}
	if diff := cmp.Diff([]string{"second@example.com", "first@example.com"}, emails); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if got, err := e.svc.LookupUsers(ctx, admin, nil); err != nil || len(got) != 0 {
		t.Errorf("no ids: %v, %v", got, err)
	}
}

func TestLookupUsersRefusesNonAdminsAndMoreThanAThousandIds(t *testing.T) {
	e := newEnv(t)
	a, p := e.register(t, "plain@example.com")
	_, err := e.svc.LookupUsers(context.Background(), p, []string{a.Profile.User.ID})
	wantErr(t, err, account.ErrAdminRequired)

	admin := identity.Principal{UserID: p.UserID, Role: identity.RoleAdmin}
	ids := make([]string, account.MaxLookupUsers+1)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
	}
	_, err = e.svc.LookupUsers(context.Background(), admin, ids)
	wantViolations(t, err, [2]string{"ids", account.CodeTooLong})
	if _, err := e.svc.LookupUsers(context.Background(), admin, ids[:account.MaxLookupUsers]); err != nil {
		t.Errorf("%d ids: %v", account.MaxLookupUsers, err)
	}
}
