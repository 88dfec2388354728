//! ASN.1 the `cms` and `x509-cert` crates do not define: the ESS signing-certificate-v2
//! attribute (RFC 5035) and RFC 3161's time-stamp request, response and `TSTInfo`; plus the raw
//! TLV walking a verifier needs where re-encoding a decoded value would not reproduce the bytes
//! that were signed.

use super::oid;
use crate::Timestamp;
use der::asn1::{Any, AnyRef, BitString, Int, ObjectIdentifier, OctetString};
use der::{
    Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader, Sequence, SliceReader, Tag, TagNumber,
    Tagged as _, Writer,
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralNames;
use x509_cert::serial_number::SerialNumber;

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies ... OPTIONAL }`.
/// PAdES B-B requires it: it binds the signature to one certificate, so a different certificate
/// with the same key cannot be substituted.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub policies: Option<Any>,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash OCTET STRING, issuerSerial OPTIONAL }`.
/// The default is spelled as an absent algorithm: write `None` for SHA-256, as DER requires.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    pub issuer: GeneralNames,
    pub serial_number: SerialNumber,
}

impl EssCertIdV2 {
    /// The digest algorithm of `cert_hash` (SHA-256 when none is written).
    pub fn hash_oid(&self) -> ObjectIdentifier {
        self.hash_algorithm.as_ref().map_or(oid::SHA256, |a| a.oid)
    }
}

/// `MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub hashed_message: OctetString,
}

/// RFC 3161 `TimeStampReq`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    /// Always 1.
    pub version: u8,
    pub message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// RFC 3161 `TimeStampResp`. The token is kept as the bytes the TSA sent, to embed unchanged.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    pub status: PkiStatusInfo,
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<Any>,
}

/// `PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL, failInfo PKIFailureInfo OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// 0 granted, 1 granted with modifications, 2 rejection, 3 waiting, 4/5 revocation notices.
    pub status: u8,
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// RFC 3161 `TSTInfo`: what the authority vouches for.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    pub version: u8,
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    pub gen_time: GeneralizedTimeText,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<Any>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] OPTIONAL, micros [1] OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    #[asn1(optional = "true")]
    pub seconds: Option<u32>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

/// A GeneralizedTime kept as text: TSAs may add fractional seconds (`20261122063000.25Z`),
/// which `der`'s own type refuses.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct GeneralizedTimeText(pub String);

impl FixedTag for GeneralizedTimeText {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GeneralizedTimeText {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let bytes = reader.read_vec(header.length)?;
        String::from_utf8(bytes).map(Self).map_err(|_| Tag::GeneralizedTime.value_error())
    }
}

impl EncodeValue for GeneralizedTimeText {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.0.as_bytes())
    }
}

impl GeneralizedTimeText {
    /// The time, to the microsecond. Only the UTC form (`...Z`) is accepted, as RFC 3161
    /// requires for `genTime`.
    pub fn to_timestamp(&self) -> Option<Timestamp> {
        let text = self.0.strip_suffix('Z')?;
        let (whole, fraction) = match text.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (text, None),
        };
        if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n = |range: core::ops::Range<usize>| whole.get(range).and_then(|s| s.parse::<u16>().ok());
        let seconds = calendar_seconds(n(0..4)?, n(4..6)?, n(6..8)?, n(8..10)?, n(10..12)?, n(12..14)?)?;
        let micros = match fraction {
            None => 0,
            Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
                let padded = format!("{f:0<6}");
                padded.get(..6)?.parse::<i64>().ok()?
            }
            Some(_) => return None,
        };
        Some(Timestamp::from_micros(seconds.checked_mul(1_000_000)?.checked_add(micros)?))
    }
}

/// Seconds since the Unix epoch of a UTC calendar time, if it is a real one (1970 to 9999).
pub(crate) fn calendar_seconds(year: u16, month: u16, day: u16, hour: u16, minute: u16, second: u16) -> Option<i64> {
    let dt = der::DateTime::new(
        year,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    i64::try_from(dt.unix_duration().as_secs()).ok()
}

/// Splits a DER value off the front of `bytes`: (the whole TLV, what follows). Signature
/// containers are padded with zeros after the CMS structure.
pub fn split_der(bytes: &[u8]) -> der::Result<(&[u8], &[u8])> {
    let mut reader = SliceReader::new(bytes)?;
    let header = Header::decode(&mut reader)?;
    let total = usize::try_from((header.encoded_len()? + header.length)?)?;
    if total > bytes.len() {
        return Err(der::ErrorKind::Incomplete {
            expected_len: Length::try_from(total)?,
            actual_len: reader.input_len(),
        }
        .into());
    }
    Ok(bytes.split_at(total))
}

/// The TLVs inside a constructed value, in the order they were written.
fn children(value: &[u8]) -> der::Result<Vec<AnyRef<'_>>> {
    let mut reader = SliceReader::new(value)?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(AnyRef::decode(&mut reader)?);
    }
    Ok(out)
}

/// The signed attributes of the one SignerInfo in a CMS `ContentInfo`, exactly as signed: the
/// bytes of the `[0] IMPLICIT` field re-tagged as a SET (RFC 5652 section 5.4). Taken from the
/// input rather than re-encoded from the decoded attributes, because decoding sorts a SET OF and
/// a signer that did not sort would then fail verification for the wrong reason.
pub fn raw_signed_attributes(content_info: &[u8]) -> der::Result<Option<Vec<u8>>> {
    let outer = AnyRef::from_der(content_info)?;
    let parts = children(outer.value())?;
    let content = parts.get(1).ok_or_else(|| Tag::Sequence.value_error())?;
    let signed_data = AnyRef::from_der(content.value())?;
    let fields = children(signed_data.value())?;
    let signer_infos = fields.last().filter(|f| f.tag() == Tag::Set).ok_or_else(|| Tag::Set.value_error())?;
    let infos = children(signer_infos.value())?;
    let [info] = infos.as_slice() else { return Err(Tag::Set.value_error()) };
    let info_fields = children(info.value())?;
    match info_fields.get(3) {
        Some(attrs) if attrs.tag() == Tag::ContextSpecific { constructed: true, number: TagNumber::N0 } => {
            Ok(Some(AnyRef::new(Tag::Set, attrs.value())?.to_der()?))
        }
        _ => Ok(None),
    }
}

/// The first element of a SEQUENCE as written: a certificate's `tbsCertificate`, the bytes its
/// issuer signed.
pub fn raw_first_element(sequence: &[u8]) -> der::Result<Vec<u8>> {
    let outer = AnyRef::from_der(sequence)?;
    let first = children(outer.value())?.into_iter().next().ok_or_else(|| Tag::Sequence.value_error())?;
    first.to_der()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_times_with_and_without_fractions() {
        let t = |s: &str| GeneralizedTimeText(s.to_owned()).to_timestamp().map(|t| t.as_micros());
        assert_eq!(t("19700101000000Z"), Some(0));
        assert_eq!(t("20261122063000Z"), Some(1_795_329_000_000_000));
        assert_eq!(t("20261122063000.25Z"), Some(1_795_329_000_250_000));
        assert_eq!(t("20261122063000.123456789Z"), Some(1_795_329_000_123_456));
        assert_eq!(t("20261122063000"), None, "local time is not accepted");
        assert_eq!(t("20261122063000.Z"), None);
        assert_eq!(t("20261322063000Z"), None, "month 13");
        assert_eq!(t("2026112206300Z"), None);
    }

    #[test]
    fn ess_cert_id_omits_the_default_sha256() {
        let id = EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new([7u8; 32]).expect("octets"),
            issuer_serial: None,
        };
        let der = id.to_der().expect("encodes");
        // SEQUENCE { OCTET STRING (32) }: no AlgorithmIdentifier.
        assert_eq!(&der[..4], &[0x30, 34, 0x04, 32]);
        assert_eq!(EssCertIdV2::from_der(&der).expect("decodes"), id);
    }

    #[test]
    fn split_der_separates_the_value_from_padding() {
        let value = OctetString::new([1u8, 2, 3]).expect("octets").to_der().expect("der");
        let mut padded = value.clone();
        padded.extend_from_slice(&[0, 0, 0]);
        let (tlv, rest) = split_der(&padded).expect("splits");
        assert_eq!(tlv, value.as_slice());
        assert_eq!(rest, &[0, 0, 0]);
        assert!(split_der(&value[..value.len() - 1]).is_err(), "a truncated value is refused");
        assert!(split_der(&[]).is_err());
    }
}
