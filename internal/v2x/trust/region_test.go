package trust

import (
	"testing"

	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

func TestRegions(t *testing.T) {
	beijing := ieee1609.TwoDLocation{Latitude: 399042000, Longitude: 1164074000}
	shanghai := ieee1609.TwoDLocation{Latitude: 312304000, Longitude: 1214737000}
	circle := func(c ieee1609.TwoDLocation, r uint16) *ieee1609.GeographicRegion {
		return &ieee1609.GeographicRegion{CircularRegion: &ieee1609.CircularRegion{Center: c, Radius: r}}
	}
	rect := &ieee1609.GeographicRegion{RectangularRegion: []ieee1609.RectangularRegion{{
		NorthWest: ieee1609.TwoDLocation{Latitude: 410000000, Longitude: 1150000000},
		SouthEast: ieee1609.TwoDLocation{Latitude: 390000000, Longitude: 1180000000},
	}}}
	cn, us := uint16(156), uint16(840)
	country := func(c *uint16) *ieee1609.GeographicRegion {
		return &ieee1609.GeographicRegion{IdentifiedRegion: []ieee1609.IdentifiedRegion{{CountryOnly: c}}}
	}
	for _, tc := range []struct {
		name     string
		sub, iss *ieee1609.GeographicRegion
		within   bool
	}{
		{"small circle in a large one", circle(beijing, 1000), circle(beijing, 50000), true},
		{"circle sticking out", circle(beijing, 60000), circle(beijing, 50000), false},
		{"Shanghai circle in a Beijing circle", circle(shanghai, 1000), circle(beijing, 50000), false},
		{"circle centred in a rectangle", circle(beijing, 1000), rect, true},
		{"rectangle in itself", rect, rect, true},
		{"same country", country(&cn), country(&cn), true},
		{"another country", country(&us), country(&cn), false},
	} {
		if got, known := regionWithin(tc.sub, tc.iss); !known || got != tc.within {
			t.Errorf("%s: within %v (comparable %v), want %v", tc.name, got, known, tc.within)
		}
	}
	// Beijing to Shanghai is about 1,067 km.
	if d := distance(beijing, shanghai); d < 1.05e6 || d > 1.09e6 {
		t.Errorf("Beijing-Shanghai %.0f m", d)
	}
	for _, tc := range []struct {
		p  ieee1609.TwoDLocation
		r  *ieee1609.GeographicRegion
		in bool
	}{{beijing, rect, true}, {shanghai, rect, false}, {beijing, circle(beijing, 10), true}, {shanghai, circle(beijing, 50000), false}} {
		if got, _ := locationIn(tc.p, tc.r); got != tc.in {
			t.Errorf("location %+v in %+v: %v", tc.p, tc.r, got)
		}
	}
	if _, known := regionWithin(&ieee1609.GeographicRegion{PolygonalRegion: []ieee1609.TwoDLocation{beijing, shanghai, beijing}}, rect); known {
		t.Error("a polygon was compared")
	}
}
