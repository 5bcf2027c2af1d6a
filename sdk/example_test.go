package sdk_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"

	"github.com/mimacrypto/mima/internal/server"
	"github.com/mimacrypto/mima/sdk"
)

// devAddr starts one in-process development server (in memory,
// initialised and unsealed, root token "example-root") for the examples
// and returns its address.
var devAddr = sync.OnceValue(func() string {
	cfg := server.Defaults()
	cfg.Dev, cfg.DevRootToken, cfg.Storage, cfg.ListenAddr = true, "example-root", "inmem", "127.0.0.1:0"
	r, w := io.Pipe()
	go func() { _ = w.CloseWithError(server.Run(context.Background(), cfg, w)) }()
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		if _, url, ok := strings.Cut(lines.Text(), " listening on "); ok {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			return url
		}
	}
	log.Fatalf("the development server did not start: %v", lines.Err())
	return ""
})

// client is a root client of the development server.
func client() *sdk.Client {
	c, err := sdk.New(devAddr(), sdk.WithToken("example-root"))
	if err != nil {
		log.Fatal(err)
	}
	return c
}

func Example() {
	ctx := context.Background()
	c, err := sdk.New(devAddr(), sdk.WithToken("example-root"), sdk.WithRetry(sdk.DefaultRetryPolicy()))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Keys().Create(ctx, sdk.CreateKeyRequest{Name: "orders", Type: sdk.KeyTypeSM4}); err != nil {
		log.Fatal(err)
	}
	ct, err := c.Crypto().Encrypt(ctx, "orders", sdk.EncryptRequest{Plaintext: []byte("4111 1111 1111 1111")})
	if err != nil {
		log.Fatal(err)
	}
	pt, err := c.Crypto().Decrypt(ctx, "orders", sdk.DecryptRequest{Ciphertext: ct.Ciphertext})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt.Plaintext))
	// Output: 4111 1111 1111 1111
}

func ExampleAPIError() {
	_, err := client().Keys().Get(context.Background(), "no-such-key")
	fmt.Println(errors.Is(err, sdk.ErrKeyNotFound))
	if e, ok := errors.AsType[*sdk.APIError](err); ok {
		fmt.Println(e.Status, e.Code, e.RequestID != "")
	}
	// Output:
	// true
	// 404 key_not_found true
}

func ExampleKeysClient_All() {
	ctx := context.Background()
	keys := client().Keys()
	for _, name := range []string{"page-a", "page-b", "page-c"} {
		if _, err := keys.Create(ctx, sdk.CreateKeyRequest{Name: name, Type: sdk.KeyTypeHMACSM3}); err != nil {
			log.Fatal(err)
		}
	}
	// Pages of one key each; the iterator follows the cursors.
	for k, err := range keys.All(ctx, sdk.ListKeysOptions{Type: sdk.KeyTypeHMACSM3, Limit: 1}) {
		if err != nil {
			log.Fatal(err)
		}
		if strings.HasPrefix(k.Name, "page-") {
			fmt.Println(k.Name, k.State)
		}
	}
	// Output:
	// page-a enabled
	// page-b enabled
	// page-c enabled
}

func ExampleCryptoClient_Sign() {
	ctx := context.Background()
	c := client()
	if _, err := c.Keys().Create(ctx, sdk.CreateKeyRequest{Name: "invoices", Type: sdk.KeyTypeSM2}); err != nil {
		log.Fatal(err)
	}
	msg := []byte("invoice 2024-001")
	sig, err := c.Crypto().Sign(ctx, "invoices", sdk.SignRequest{Input: msg})
	if err != nil {
		log.Fatal(err)
	}
	v, err := c.Crypto().Verify(ctx, "invoices", sdk.VerifyRequest{Input: msg, Signature: sig.Signature})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Valid)
	// Output: true
}

func ExampleAuthClient_CreateToken() {
	ctx := context.Background()
	tok, err := client().Auth().CreateToken(ctx, sdk.TokenRequest{Policies: []string{"admin"}, DisplayName: "deploy bot"})
	if err != nil {
		log.Fatal(err)
	}
	bot, err := sdk.New(devAddr(), sdk.WithToken(tok.Token))
	if err != nil {
		log.Fatal(err)
	}
	self, err := bot.Auth().LookupSelf(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(self.DisplayName, self.Policies)
	// Output: deploy bot [admin]
}

func ExampleSysClient_Health() {
	h, err := client().Sys().Health(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(h.Initialized, h.Sealed)
	// Output: true false
}
