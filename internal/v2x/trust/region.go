package trust

import (
	"math"
	"slices"

	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

// Regions (IEEE 1609.2-2022 6.4.17, 5.2.4.2.3). mima decides containment
// for circular, rectangular and identified regions (country, country and
// regions); a polygonal region, or a pair of kinds it cannot compare,
// is refused rather than guessed.

// earthRadius is the mean radius in metres.
const earthRadius = 6371000.0

func degrees(v int32) float64 { return float64(v) / 1e7 }

// distance is the great-circle distance in metres (haversine).
func distance(a, b ieee1609.TwoDLocation) float64 {
	la1, la2 := degrees(a.Latitude)*math.Pi/180, degrees(b.Latitude)*math.Pi/180
	dla := la2 - la1
	dlo := (degrees(b.Longitude) - degrees(a.Longitude)) * math.Pi / 180
	h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlo/2)*math.Sin(dlo/2)
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(h)))
}

// inRect reports whether p lies in r (no wrap at the antimeridian).
func inRect(p ieee1609.TwoDLocation, r ieee1609.RectangularRegion) bool {
	return p.Latitude <= r.NorthWest.Latitude && p.Latitude >= r.SouthEast.Latitude &&
		p.Longitude >= r.NorthWest.Longitude && p.Longitude <= r.SouthEast.Longitude
}

// locationIn reports whether p lies in region r. An identified region
// cannot be tested without a map of countries; it is taken as covering
// every location (verifiers with such a map should check it).
func locationIn(p ieee1609.TwoDLocation, r *ieee1609.GeographicRegion) (bool, bool) {
	switch {
	case r.CircularRegion != nil:
		return distance(p, r.CircularRegion.Center) <= float64(r.CircularRegion.Radius), true
	case r.RectangularRegion != nil:
		return slices.ContainsFunc(r.RectangularRegion, func(rr ieee1609.RectangularRegion) bool { return inRect(p, rr) }), true
	case r.IdentifiedRegion != nil:
		return true, true
	}
	return false, false
}

// regionWithin reports whether sub lies within iss, and whether the pair
// could be compared.
func regionWithin(sub, iss *ieee1609.GeographicRegion) (bool, bool) {
	switch {
	case sub.CircularRegion != nil && iss.CircularRegion != nil:
		c, d := sub.CircularRegion, iss.CircularRegion
		return distance(c.Center, d.Center)+float64(c.Radius) <= float64(d.Radius), true
	case sub.CircularRegion != nil && iss.RectangularRegion != nil:
		return locationIn(sub.CircularRegion.Center, iss)
	case sub.RectangularRegion != nil && iss.RectangularRegion != nil:
		for _, r := range sub.RectangularRegion {
			if !slices.ContainsFunc(iss.RectangularRegion, func(ir ieee1609.RectangularRegion) bool {
				return inRect(r.NorthWest, ir) && inRect(r.SouthEast, ir)
			}) {
				return false, true
			}
		}
		return true, true
	case sub.IdentifiedRegion != nil && iss.IdentifiedRegion != nil:
		for _, r := range sub.IdentifiedRegion {
			if !slices.ContainsFunc(iss.IdentifiedRegion, func(ir ieee1609.IdentifiedRegion) bool { return identifiedWithin(r, ir) }) {
				return false, true
			}
		}
		return true, true
	case sub.CircularRegion != nil && iss.IdentifiedRegion != nil, sub.RectangularRegion != nil && iss.IdentifiedRegion != nil:
		// A country covers the circle or rectangle only if a map says
		// so; without one mima trusts the issuer's choice.
		return true, true
	}
	return false, false
}

// identifiedWithin reports whether the identified region a lies in b.
func identifiedWithin(a, b ieee1609.IdentifiedRegion) bool {
	country := func(r ieee1609.IdentifiedRegion) uint16 {
		switch {
		case r.CountryOnly != nil:
			return *r.CountryOnly
		case r.CountryAndRegions != nil:
			return r.CountryAndRegions.CountryOnly
		case r.CountryAndSubregions != nil:
			return r.CountryAndSubregions.CountryOnly
		}
		return 0
	}
	if country(a) != country(b) || country(a) == 0 {
		return false
	}
	switch {
	case b.CountryOnly != nil:
		return true
	case b.CountryAndRegions != nil && a.CountryAndRegions != nil:
		for _, r := range a.CountryAndRegions.Regions {
			if !slices.Contains(b.CountryAndRegions.Regions, r) {
				return false
			}
		}
		return true
	}
	return false
}
