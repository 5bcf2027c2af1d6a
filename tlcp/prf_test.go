package tlcp

import (
	"bytes"
	"encoding/hex"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// prfVectors were computed independently with OpenSSL 3.0's TLS1-PRF,
// which with digest SM3 is P_SM3(secret, seed) and takes the label as the
// start of the seed:
//
//	openssl kdf -keylen 48 -kdfopt digest:SM3 -kdfopt hexsecret:$SECRET \
//	  -kdfopt hexseed:$LABEL$SEED TLS1-PRF
var prfVectors = []struct {
	name, secret, label, seed string
	keylen                    int
	want                      string
}{
	{
		name:   "master secret",
		secret: "01010b30557a9fc4e90e33587da2c7ec11365b80a5caef14395e83a8cdf2173c6186abd0f51a3f6489aed3f81d42678c",
		label:  "master secret",
		// client_random || server_random
		seed:   "030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dc" + "05121f2c394653606d7a8794a1aebbc8d5e2effc091623303d4a5764717e8b98",
		keylen: 48,
		want:   "bc808fd44cb17e6facabda7c31a0199eded98d3dc8d7ea060ae56df3868dc1b3823dd004374e0f187f354cf271ad5e05",
	},
	{
		name:   "key expansion, CBC key block",
		secret: "bc808fd44cb17e6facabda7c31a0199eded98d3dc8d7ea060ae56df3868dc1b3823dd004374e0f187f354cf271ad5e05",
		label:  "key expansion",
		// server_random || client_random
		seed:   "05121f2c394653606d7a8794a1aebbc8d5e2effc091623303d4a5764717e8b98" + "030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dc",
		keylen: 128,
		want: "08607f02e95a2bb5f9495783f18dd5e63958b1cc10aadfde08b5ece0fb1b4b0eb6c2559c51e8ac50db7647413ead7f66" +
			"bd0a1025b64f60d96c9d23845200a77fd456cbab9a70f675ec2b0f54b02fa2d559db59c8b3094dce6e7985c06e6a193f" +
			"1d2e19907f914478aef7ac01c24c315efea9e977c83cfec7683e3d1dddd5cdaa",
	},
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPRFMatchesOpenSSL(t *testing.T) {
	for _, v := range prfVectors {
		t.Run(v.name, func(t *testing.T) {
			got := make([]byte, v.keylen)
			prf(got, unhex(t, v.secret), []byte(v.label), unhex(t, v.seed))
			if hex.EncodeToString(got) != v.want {
				t.Fatalf("PRF = %x\nwant  %s", got, v.want)
			}
		})
	}
}

// TestPRFVectorsAgainstLiveOpenSSL reruns the recorded commands when the
// openssl binary is installed, so the stored vectors stay honest.
func TestPRFVectorsAgainstLiveOpenSSL(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	for _, v := range prfVectors {
		t.Run(v.name, func(t *testing.T) {
			out, err := exec.Command(bin, "kdf", "-keylen", strconv.Itoa(v.keylen),
				"-kdfopt", "digest:SM3", "-kdfopt", "hexsecret:"+v.secret,
				"-kdfopt", "hexseed:"+hex.EncodeToString([]byte(v.label))+v.seed, "TLS1-PRF").CombinedOutput()
			if err != nil {
				t.Skipf("openssl kdf without SM3 TLS1-PRF support: %v: %s", err, out)
			}
			got := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(string(out)), ":", ""))
			if got != v.want {
				t.Fatalf("openssl now gives %s\nstored            %s", got, v.want)
			}
		})
	}
}

func TestKeyBlockLayout(t *testing.T) {
	v := prfVectors[1]
	block := unhex(t, v.want)
	cr, sr := unhex(t, v.seed[64:]), unhex(t, v.seed[:64])
	kb := keysFromMaster(suiteByID(ECC_SM4_CBC_SM3), unhex(t, v.secret), cr, sr)
	// client_write_MAC_key, server_write_MAC_key, client_write_key,
	// server_write_key, client_write_IV, server_write_IV (GB/T 38636-2020
	// 6.5.2).
	parts := [][]byte{kb.clientMAC, kb.serverMAC, kb.clientKey, kb.serverKey, kb.clientIV, kb.serverIV}
	if got := bytes.Join(parts, nil); !bytes.Equal(got, block) {
		t.Fatalf("key block = %x\nwant        %x", got, block)
	}
	if len(kb.clientMAC) != 32 || len(kb.clientKey) != 16 || len(kb.clientIV) != 16 {
		t.Fatalf("CBC lengths %d/%d/%d, want 32/16/16", len(kb.clientMAC), len(kb.clientKey), len(kb.clientIV))
	}
	gcm := keysFromMaster(suiteByID(ECC_SM4_GCM_SM3), unhex(t, v.secret), cr, sr)
	if len(gcm.clientMAC) != 0 || len(gcm.clientKey) != 16 || len(gcm.serverIV) != 4 || !bytes.Equal(gcm.clientKey, block[:16]) {
		t.Fatalf("GCM key block lengths %d/%d/%d or key wrong", len(gcm.clientMAC), len(gcm.clientKey), len(gcm.serverIV))
	}
}
