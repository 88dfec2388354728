//! Geolocation of client addresses from a MaxMind-format (`.mmdb`) database, when one is
//! configured. Without one, or for an address it does not know, the answer is "unknown": a
//! location is never guessed.

use attesta_core::evidence::{GeoSource, Geolocation, Latitude, Longitude, Text};
use maxminddb::{Reader, geoip2};
use std::net::IpAddr;
use std::path::Path;

pub struct GeoIp {
    reader: Reader<Vec<u8>>,
}

impl GeoIp {
    /// Opens a GeoIP2/GeoLite2 City (or Country) database.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let reader =
            Reader::open_readfile(path).map_err(|e| anyhow::anyhow!("geoip.database {}: {e}", path.display()))?;
        Ok(Self { reader })
    }

    /// What the database says about `ip`, or `None` when it has no record of it.
    pub fn locate(&self, ip: IpAddr) -> Option<Geolocation> {
        let found = self.reader.lookup(ip).ok()?;
        let city: geoip2::City<'_> = found.decode().ok()??;
        let text = |s: Option<&str>| s.filter(|s| !s.is_empty()).and_then(|s| Text::new(s).ok());
        let location = Geolocation {
            source: GeoSource::Ip,
            country: text(city.country.iso_code),
            region: text(city.subdivisions.first().and_then(|s| s.iso_code.or(s.names.english))),
            city: text(city.city.names.english),
            latitude: city.location.latitude.and_then(|l| Latitude::new(l).ok()),
            longitude: city.location.longitude.and_then(|l| Longitude::new(l).ok()),
        };
        let known = location.country.is_some() || location.city.is_some() || location.latitude.is_some();
        known.then_some(location)
    }
}
