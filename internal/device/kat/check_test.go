package kat_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/device/kat"
)

func TestCheckPassesOnTheSoftwareDevice(t *testing.T) {
	if err := kat.Check(context.Background(), device.NewSoftware()); err != nil {
		t.Fatal(err)
	}
}

// wrongMAC is a device whose MACs are wrong: Check must notice.
type wrongMAC struct{ *device.Software }

type badMACKey struct{ inner device.MAC }

func (k badMACKey) Type() device.KeyType { return k.inner.Type() }

func (k badMACKey) MAC(ctx context.Context, dst, msg []byte) ([]byte, error) {
	m, err := k.inner.MAC(ctx, dst, msg)
	if err == nil {
		m[len(m)-1] ^= 1
	}
	return m, err
}

func (d wrongMAC) Open(ctx context.Context, t device.KeyType, stored []byte) (device.Key, error) {
	k, err := d.Software.Open(ctx, t, stored)
	if m, ok := k.(device.MAC); ok && t == device.HMACSM3 {
		return badMACKey{m}, err
	}
	return k, err
}

func TestCheckFailsOnAWrongAnswer(t *testing.T) {
	if err := kat.Check(context.Background(), wrongMAC{device.NewSoftware()}); err == nil {
		t.Fatal("a device with wrong HMAC-SM3 tags passed the known-answer test")
	}
}

// dead is a device that is unavailable.
type dead struct{ *device.Software }

func (dead) Generate(context.Context, device.KeyType) ([]byte, error) {
	return nil, device.ErrUnavailable
}

func TestCheckReportsAnUnavailableDevice(t *testing.T) {
	if err := kat.Check(context.Background(), dead{device.NewSoftware()}); !errors.Is(err, device.ErrUnavailable) {
		t.Fatalf("Check = %v, want ErrUnavailable", err)
	}
}
