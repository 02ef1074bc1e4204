//! The LDS files the station reads (ICAO 9303 Part 10): EF.COM (tag `60`), EF.DG1 (tag `61`,
//! the MRZ in `5F1F`), EF.DG2 (tag `75`, an ISO/IEC 19794-5 face record holding a JPEG) and
//! EF.SOD (tag `77`, a CMS `SignedData` whose content is the `LDSSecurityObject`), parsed and
//! built.

use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;

use crate::ChipError;
use crate::apdu::{read_all, read_tlv, tlv};

/// The content type of an LDS security object (`id-icao-mrtd-security-ldsSecurityObject`).
pub const LDS_SECURITY_OBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.1");

/// `DataGroupHash ::= SEQUENCE { dataGroupNumber INTEGER, dataGroupHashValue OCTET STRING }`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct DataGroupHash {
    /// The data group's number (1 for DG1, …).
    pub number: u8,
    /// Its hash.
    pub value: OctetString,
}

/// `LDSSecurityObject ::= SEQUENCE { version, hashAlgorithm, dataGroupHashValues }` (version
/// 0; the version-1 `ldsVersionInfo` is not written and, when present, not read).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct LdsSecurityObject {
    /// 0 (LDS 1.7) or 1 (LDS 1.8).
    pub version: u8,
    /// The hash algorithm of every data group hash.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// One hash per data group on the chip.
    pub hashes: Vec<DataGroupHash>,
}

impl LdsSecurityObject {
    /// The hash recorded for data group `number`.
    pub fn hash_of(&self, number: u8) -> Option<&[u8]> {
        self.hashes
            .iter()
            .find(|h| h.number == number)
            .map(|h| h.value.as_bytes())
    }

    /// Parses the DER bytes of the SOD's encapsulated content.
    pub fn parse(der: &[u8]) -> Result<Self, ChipError> {
        // Version 1 adds an optional ldsVersionInfo after the hashes: read the three fields
        // this module knows and ignore what follows inside the SEQUENCE.
        Self::from_der(der)
            .or_else(|_| Lenient::from_der(der).map(Lenient::into_known))
            .map_err(|_| ChipError::Malformed {
                what: "LDS security object",
                why: "not the ASN.1 structure ICAO 9303 Part 10 defines",
            })
    }
}

/// Version 1's form, with the version info kept as it is.
#[derive(Sequence)]
struct Lenient {
    version: u8,
    hash_algorithm: AlgorithmIdentifierOwned,
    hashes: Vec<DataGroupHash>,
    #[asn1(optional = "true")]
    version_info: Option<der::Any>,
}

impl Lenient {
    fn into_known(self) -> LdsSecurityObject {
        LdsSecurityObject {
            version: self.version,
            hash_algorithm: self.hash_algorithm,
            hashes: self.hashes,
        }
    }
}

/// EF.COM: LDS version `0107`, Unicode version `040000`, and the tags of the data groups
/// present.
pub fn build_com(dg_tags: &[u8]) -> Vec<u8> {
    let mut body = tlv(0x5F01, b"0107");
    body.extend(tlv(0x5F36, b"040000"));
    body.extend(tlv(0x5C, dg_tags));
    tlv(0x60, &body)
}

/// The data group tags EF.COM lists.
pub fn parse_com(bytes: &[u8]) -> Result<Vec<u8>, ChipError> {
    let body = outer(bytes, 0x60, "EF.COM")?;
    read_all(body)?
        .into_iter()
        .find(|(tag, _)| *tag == 0x5C)
        .map(|(_, v)| v.to_vec())
        .ok_or(ChipError::Malformed {
            what: "EF.COM",
            why: "no tag list (5C)",
        })
}

/// EF.DG1 holding `mrz` (the MRZ lines joined without separators: 88 characters for TD3).
pub fn build_dg1(mrz: &str) -> Vec<u8> {
    tlv(0x61, &tlv(0x5F1F, mrz.as_bytes()))
}

/// The MRZ in EF.DG1 (as stored: the lines joined).
pub fn parse_dg1(bytes: &[u8]) -> Result<String, ChipError> {
    let body = outer(bytes, 0x61, "EF.DG1")?;
    let (tag, mrz, _) = read_tlv(body)?;
    if tag != 0x5F1F {
        return Err(ChipError::Malformed {
            what: "EF.DG1",
            why: "its first data object is not the MRZ (5F1F)",
        });
    }
    if !mrz
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'<')
    {
        return Err(ChipError::Malformed {
            what: "EF.DG1",
            why: "the MRZ holds a character outside A-Z 0-9 <",
        });
    }
    // Checked above: every byte is ASCII.
    Ok(mrz.iter().map(|&b| b as char).collect())
}

/// EF.DG2 holding one face: the biometric information template group (`7F61`) with one
/// template (`7F60`): its header (`A1`: format owner and type) and an ISO/IEC 19794-5 face
/// record (`5F2E`) whose image is the JPEG `face` of `width` × `height` pixels.
pub fn build_dg2(face: &[u8], width: u16, height: u16) -> Vec<u8> {
    // ISO/IEC 19794-5:2005 facial record: general header (14 bytes), facial information (20),
    // image information (12), then the image.
    let record_len = 14 + 20 + 12 + face.len();
    let mut record = Vec::with_capacity(record_len);
    record.extend_from_slice(b"FAC\x00010\x00");
    record.extend_from_slice(&(record_len as u32).to_be_bytes());
    record.extend_from_slice(&1u16.to_be_bytes()); // one face
    record.extend_from_slice(&((20 + 12 + face.len()) as u32).to_be_bytes());
    record.extend_from_slice(&[0, 0]); // no feature points
    record.extend_from_slice(&[0, 0, 0]); // gender, eye and hair colour unspecified
    record.extend_from_slice(&[0, 0, 0]); // feature mask
    record.extend_from_slice(&[0, 0]); // expression unspecified
    record.extend_from_slice(&[0; 6]); // pose angles and their uncertainty
    record.push(1); // full frontal
    record.push(0); // JPEG
    record.extend_from_slice(&width.to_be_bytes());
    record.extend_from_slice(&height.to_be_bytes());
    record.push(1); // 24-bit RGB
    record.push(2); // static photo, digital camera
    record.extend_from_slice(&[0, 0, 0, 0]); // device type, quality
    record.extend_from_slice(face);
    let mut header = tlv(0x80, &[0x01, 0x01]); // ICAO header version 1.1
    header.extend(tlv(0x87, &[0x01, 0x01])); // format owner: ISO/IEC JTC 1/SC 37
    header.extend(tlv(0x88, &[0x00, 0x08])); // format type: face image
    let mut template = tlv(0xA1, &header);
    template.extend(tlv(0x5F2E, &record));
    let mut group = tlv(0x02, &[1]); // one template
    group.extend(tlv(0x7F60, &template));
    tlv(0x75, &tlv(0x7F61, &group))
}

/// The face image (JPEG or JPEG 2000 bytes) in EF.DG2's first template.
pub fn parse_dg2_face(bytes: &[u8]) -> Result<Vec<u8>, ChipError> {
    let bad = |why: &'static str| ChipError::Malformed {
        what: "EF.DG2",
        why,
    };
    let group = outer(bytes, 0x75, "EF.DG2")?;
    let (tag, group, _) = read_tlv(group)?;
    if tag != 0x7F61 {
        return Err(bad("no biometric information group template (7F61)"));
    }
    let template = read_all(group)?
        .into_iter()
        .find(|(t, _)| *t == 0x7F60)
        .map(|(_, v)| v)
        .ok_or(bad("no biometric information template (7F60)"))?;
    let record = read_all(template)?
        .into_iter()
        .find(|(t, _)| *t == 0x5F2E || *t == 0x7F2E)
        .map(|(_, v)| v)
        .ok_or(bad("no biometric data block (5F2E)"))?;
    // The image follows the record's headers; find its start marker rather than trusting
    // every vendor's header lengths.
    let jpeg = record.windows(3).position(|w| w == [0xFF, 0xD8, 0xFF]);
    let jp2 = record
        .windows(6)
        .position(|w| w == [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50]);
    let start = jpeg
        .or(jp2)
        .ok_or(bad("no JPEG or JPEG 2000 image in the face record"))?;
    Ok(record[start..].to_vec())
}

/// EF.SOD wrapping the DER of a CMS `ContentInfo`.
pub fn build_sod(content_info_der: &[u8]) -> Vec<u8> {
    tlv(0x77, content_info_der)
}

/// The DER of the CMS `ContentInfo` inside EF.SOD.
pub fn parse_sod(bytes: &[u8]) -> Result<&[u8], ChipError> {
    outer(bytes, 0x77, "EF.SOD")
}

/// The value of the file's outer data object, checking its tag.
fn outer<'a>(bytes: &'a [u8], tag: u16, what: &'static str) -> Result<&'a [u8], ChipError> {
    let (t, value, _) = read_tlv(bytes).map_err(|_| ChipError::Malformed {
        what,
        why: "its outer tag and length do not fit the bytes read",
    })?;
    if t != tag {
        return Err(ChipError::Malformed {
            what,
            why: "its outer tag is not the file's",
        });
    }
    Ok(value)
}

/// The DER of `value`, for the builders (encoding a well-formed value in memory cannot fail
/// except on lengths beyond 256 MiB, which no LDS has).
pub(crate) fn to_der<T: Encode>(value: &T) -> Result<Vec<u8>, ChipError> {
    value.to_der().map_err(|_| ChipError::Malformed {
        what: "DER encoding",
        why: "a value could not be encoded",
    })
}
