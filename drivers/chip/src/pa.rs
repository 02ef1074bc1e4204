//! Passive Authentication (ICAO 9303 Part 11 §5.1, Part 12): the data groups read are hashed
//! and compared with the SOD's; the SOD's signature is verified with the Document Signer
//! certificate it carries; that certificate must be signed by a trusted CSCA certificate, and
//! both must be valid at the time given. Each failure has its own kind, which the station maps
//! to a stable code.

use std::collections::BTreeMap;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use x509_cert::Certificate;

use crate::lds::{self, LdsSecurityObject};
use crate::session::File;

/// OIDs Passive Authentication meets.
pub mod oid {
    use der::asn1::ObjectIdentifier as O;
    /// CMS signed data.
    pub const SIGNED_DATA: O = O::new_unwrap("1.2.840.113549.1.7.2");
    /// The content-type signed attribute.
    pub const CONTENT_TYPE: O = O::new_unwrap("1.2.840.113549.1.9.3");
    /// The message-digest signed attribute.
    pub const MESSAGE_DIGEST: O = O::new_unwrap("1.2.840.113549.1.9.4");
    /// SHA-1.
    pub const SHA1: O = O::new_unwrap("1.3.14.3.2.26");
    /// SHA-224.
    pub const SHA224: O = O::new_unwrap("2.16.840.1.101.3.4.2.4");
    /// SHA-256.
    pub const SHA256: O = O::new_unwrap("2.16.840.1.101.3.4.2.1");
    /// SHA-384.
    pub const SHA384: O = O::new_unwrap("2.16.840.1.101.3.4.2.2");
    /// SHA-512.
    pub const SHA512: O = O::new_unwrap("2.16.840.1.101.3.4.2.3");
    /// ECDSA with SHA-256.
    pub const ECDSA_SHA256: O = O::new_unwrap("1.2.840.10045.4.3.2");
    /// ECDSA with SHA-384.
    pub const ECDSA_SHA384: O = O::new_unwrap("1.2.840.10045.4.3.3");
    /// ECDSA with SHA-512.
    pub const ECDSA_SHA512: O = O::new_unwrap("1.2.840.10045.4.3.4");
    /// RSA (PKCS #1 v1.5 with the digest algorithm named apart).
    pub const RSA: O = O::new_unwrap("1.2.840.113549.1.1.1");
    /// RSA PKCS #1 v1.5 with SHA-256.
    pub const RSA_SHA256: O = O::new_unwrap("1.2.840.113549.1.1.11");
    /// RSA PKCS #1 v1.5 with SHA-384.
    pub const RSA_SHA384: O = O::new_unwrap("1.2.840.113549.1.1.12");
    /// RSA PKCS #1 v1.5 with SHA-512.
    pub const RSA_SHA512: O = O::new_unwrap("1.2.840.113549.1.1.13");
    /// An elliptic-curve public key.
    pub const EC_PUBLIC_KEY: O = O::new_unwrap("1.2.840.10045.2.1");
    /// NIST P-256.
    pub const P256: O = O::new_unwrap("1.2.840.10045.3.1.7");
    /// NIST P-384.
    pub const P384: O = O::new_unwrap("1.3.132.0.34");
}

/// Why Passive Authentication failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaError {
    /// EF.SOD is not a CMS SignedData over an LDS security object.
    #[error("the SOD is malformed: {0}")]
    SodMalformed(&'static str),
    /// A data group read from the chip does not hash to the SOD's value (or the SOD has none).
    #[error("DG{dg}'s hash does not equal the SOD's")]
    HashMismatch {
        /// The data group.
        dg: u8,
    },
    /// The SOD's signature does not verify with its Document Signer certificate.
    #[error("the SOD's signature does not verify with its Document Signer certificate")]
    SignatureInvalid,
    /// The SOD carries no Document Signer certificate matching its signer.
    #[error("the SOD carries no Document Signer certificate for its signer")]
    DsMissing,
    /// No trusted CSCA certificate signed the Document Signer certificate.
    #[error("no trusted CSCA certificate signed the Document Signer certificate ({issuer})")]
    CscaUnknown {
        /// The issuer the DS certificate names.
        issuer: String,
    },
    /// A certificate is outside its validity at the time of the check.
    #[error("the {which} certificate is not valid now")]
    CertificateExpired {
        /// `document-signer` or `csca`.
        which: &'static str,
    },
    /// A hash or signature algorithm the station does not verify.
    #[error("unsupported algorithm {0}")]
    Unsupported(String),
}

/// What Passive Authentication established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The hash algorithm of the data group hashes (`SHA-256`, …).
    pub hash_algorithm: &'static str,
    /// The data groups checked against the SOD.
    pub groups_checked: Vec<u8>,
    /// The Document Signer certificate's subject.
    pub document_signer: String,
    /// The CSCA certificate's subject.
    pub csca: String,
}

/// Parses a DER or PEM certificate file's contents (PEM may hold several).
pub fn parse_certificates(bytes: &[u8]) -> Result<Vec<Certificate>, String> {
    if bytes.starts_with(b"-----") || bytes.iter().take(64).all(|b| b.is_ascii()) {
        let text = std::str::from_utf8(bytes).map_err(|_| "PEM that is not UTF-8".to_owned())?;
        if text.contains("-----BEGIN") {
            return Certificate::load_pem_chain(text.as_bytes()).map_err(|e| e.to_string());
        }
    }
    Certificate::from_der(bytes)
        .map(|c| vec![c])
        .map_err(|e| e.to_string())
}

/// Checks the data groups `files` (read from the chip) against the SOD `files[Sod]`, the SOD's
/// signature, and the chain to one of `cscas`, at `now` (seconds since the Unix epoch).
pub fn verify(
    files: &BTreeMap<File, Vec<u8>>,
    cscas: &[Certificate],
    now: u64,
) -> Result<Report, PaError> {
    let sod = files
        .get(&File::Sod)
        .ok_or(PaError::SodMalformed("EF.SOD was not read"))?;
    let info_der = lds::parse_sod(sod).map_err(|_| PaError::SodMalformed("EF.SOD's tag"))?;
    let info = ContentInfo::from_der(info_der)
        .map_err(|_| PaError::SodMalformed("not a CMS ContentInfo"))?;
    if info.content_type != oid::SIGNED_DATA {
        return Err(PaError::SodMalformed("not CMS SignedData"));
    }
    let signed: SignedData = info
        .content
        .decode_as()
        .map_err(|_| PaError::SodMalformed("SignedData does not parse"))?;
    if signed.encap_content_info.econtent_type != lds::LDS_SECURITY_OBJECT {
        return Err(PaError::SodMalformed(
            "its content is not an LDS security object",
        ));
    }
    let content = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or(PaError::SodMalformed("no encapsulated content"))?;
    let content = content
        .decode_as::<OctetString>()
        .map_err(|_| PaError::SodMalformed("the content is not an OCTET STRING"))?;
    let lso = LdsSecurityObject::parse(content.as_bytes())
        .map_err(|_| PaError::SodMalformed("the LDS security object does not parse"))?;

    // 1. Every data group read hashes to the SOD's value.
    let (hash_name, _) = hash_name(&lso.hash_algorithm.oid)?;
    let mut groups_checked = Vec::new();
    for (file, bytes) in files {
        let dg = match file {
            File::Dg1 => 1,
            File::Dg2 => 2,
            File::Com | File::Sod => continue,
        };
        let expected = lso.hash_of(dg).ok_or(PaError::HashMismatch { dg })?;
        if digest(&lso.hash_algorithm.oid, bytes)? != expected {
            return Err(PaError::HashMismatch { dg });
        }
        groups_checked.push(dg);
    }

    // 2. The signature over the signed attributes (or the content), with the DS certificate.
    let signer = signed
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or(PaError::SodMalformed("no signer"))?;
    let SignerIdentifier::IssuerAndSerialNumber(sid) = &signer.sid else {
        return Err(PaError::SodMalformed(
            "the signer is named by key identifier, not issuer and serial number",
        ));
    };
    let ds = signed
        .certificates
        .as_ref()
        .and_then(|set| {
            set.0.iter().find_map(|c| match c {
                cms::cert::CertificateChoices::Certificate(cert)
                    if cert.tbs_certificate.issuer == sid.issuer
                        && cert.tbs_certificate.serial_number == sid.serial_number =>
                {
                    Some(cert)
                }
                _ => None,
            })
        })
        .ok_or(PaError::DsMissing)?;
    let signed_bytes = match &signer.signed_attrs {
        Some(attrs) => {
            let content_der = content.as_bytes();
            let mut digest_ok = false;
            let mut type_ok = false;
            for attr in attrs.iter() {
                let Some(value) = attr.values.iter().next() else {
                    continue;
                };
                if attr.oid == oid::MESSAGE_DIGEST {
                    let md = value.decode_as::<OctetString>().map_err(|_| {
                        PaError::SodMalformed("messageDigest is not an OCTET STRING")
                    })?;
                    digest_ok = digest(&signer.digest_alg.oid, content_der)? == md.as_bytes();
                } else if attr.oid == oid::CONTENT_TYPE {
                    type_ok = value.decode_as::<ObjectIdentifier>().ok()
                        == Some(lds::LDS_SECURITY_OBJECT);
                }
            }
            if !digest_ok || !type_ok {
                // The signed attributes do not bind the content: whatever they sign, it is not
                // this LDS security object.
                return Err(PaError::SignatureInvalid);
            }
            attrs
                .to_der()
                .map_err(|_| PaError::SodMalformed("signed attributes do not encode"))?
        }
        None => content.as_bytes().to_vec(),
    };
    verify_signature(
        ds,
        &signer.signature_algorithm.oid,
        Some(&signer.digest_alg.oid),
        &signed_bytes,
        signer.signature.as_bytes(),
    )
    .map_err(|e| match e {
        PaError::Unsupported(_) => e,
        _ => PaError::SignatureInvalid,
    })?;

    // 3. The DS certificate chains to a trusted CSCA; both are valid now.
    let issuer = &ds.tbs_certificate.issuer;
    let tbs = ds
        .tbs_certificate
        .to_der()
        .map_err(|_| PaError::SodMalformed("the DS certificate does not encode"))?;
    let csca = cscas
        .iter()
        .filter(|c| &c.tbs_certificate.subject == issuer)
        .find(|c| {
            verify_signature(
                c,
                &ds.signature_algorithm.oid,
                None,
                &tbs,
                ds.signature.raw_bytes(),
            )
            .is_ok()
        })
        .ok_or_else(|| PaError::CscaUnknown {
            issuer: issuer.to_string(),
        })?;
    if !valid_at(ds, now) {
        return Err(PaError::CertificateExpired {
            which: "document-signer",
        });
    }
    if !valid_at(csca, now) {
        return Err(PaError::CertificateExpired { which: "csca" });
    }
    Ok(Report {
        hash_algorithm: hash_name,
        groups_checked,
        document_signer: ds.tbs_certificate.subject.to_string(),
        csca: csca.tbs_certificate.subject.to_string(),
    })
}

/// Whether `cert` is valid at `now` (Unix seconds).
pub fn valid_at(cert: &Certificate, now: u64) -> bool {
    let v = &cert.tbs_certificate.validity;
    let from = v.not_before.to_unix_duration().as_secs();
    let to = v.not_after.to_unix_duration().as_secs();
    from <= now && now <= to
}

fn hash_name(alg: &ObjectIdentifier) -> Result<(&'static str, usize), PaError> {
    Ok(match *alg {
        oid::SHA1 => ("SHA-1", 20),
        oid::SHA224 => ("SHA-224", 28),
        oid::SHA256 => ("SHA-256", 32),
        oid::SHA384 => ("SHA-384", 48),
        oid::SHA512 => ("SHA-512", 64),
        _ => return Err(PaError::Unsupported(format!("hash {alg}"))),
    })
}

/// The digest of `data` with the algorithm `alg`.
pub fn digest(alg: &ObjectIdentifier, data: &[u8]) -> Result<Vec<u8>, PaError> {
    Ok(match *alg {
        oid::SHA1 => Sha1::digest(data).to_vec(),
        oid::SHA224 => Sha224::digest(data).to_vec(),
        oid::SHA256 => Sha256::digest(data).to_vec(),
        oid::SHA384 => Sha384::digest(data).to_vec(),
        oid::SHA512 => Sha512::digest(data).to_vec(),
        _ => return Err(PaError::Unsupported(format!("hash {alg}"))),
    })
}

/// Verifies `signature` over `message` with `cert`'s public key and the signature algorithm
/// `alg` (`digest_alg` names the hash when `alg` is bare `rsaEncryption`).
fn verify_signature(
    cert: &Certificate,
    alg: &ObjectIdentifier,
    digest_alg: Option<&ObjectIdentifier>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), PaError> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let key = spki.subject_public_key.raw_bytes();
    match *alg {
        oid::ECDSA_SHA256 | oid::ECDSA_SHA384 | oid::ECDSA_SHA512 => {
            use signature::hazmat::PrehashVerifier;
            let hash = match *alg {
                oid::ECDSA_SHA256 => oid::SHA256,
                oid::ECDSA_SHA384 => oid::SHA384,
                _ => oid::SHA512,
            };
            let prehash = digest(&hash, message)?;
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            match curve {
                Some(oid::P256) => {
                    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                        .map_err(|_| PaError::SignatureInvalid)?;
                    let sig = p256::ecdsa::Signature::from_der(signature)
                        .map_err(|_| PaError::SignatureInvalid)?;
                    vk.verify_prehash(&prehash, &sig)
                        .map_err(|_| PaError::SignatureInvalid)
                }
                Some(oid::P384) => {
                    let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(key)
                        .map_err(|_| PaError::SignatureInvalid)?;
                    let sig = p384::ecdsa::Signature::from_der(signature)
                        .map_err(|_| PaError::SignatureInvalid)?;
                    vk.verify_prehash(&prehash, &sig)
                        .map_err(|_| PaError::SignatureInvalid)
                }
                other => Err(PaError::Unsupported(format!(
                    "elliptic curve {}",
                    other.map_or("(none named)".to_owned(), |o| o.to_string())
                ))),
            }
        }
        oid::RSA | oid::RSA_SHA256 | oid::RSA_SHA384 | oid::RSA_SHA512 => {
            use rsa::pkcs8::DecodePublicKey;
            let hash = match *alg {
                oid::RSA_SHA256 => oid::SHA256,
                oid::RSA_SHA384 => oid::SHA384,
                oid::RSA_SHA512 => oid::SHA512,
                _ => *digest_alg
                    .ok_or(PaError::Unsupported("rsaEncryption without a hash".into()))?,
            };
            let spki_der = spki
                .to_der()
                .map_err(|_| PaError::SodMalformed("a public key does not encode"))?;
            let pk = rsa::RsaPublicKey::from_public_key_der(&spki_der)
                .map_err(|_| PaError::SignatureInvalid)?;
            let prehash = digest(&hash, message)?;
            let scheme = match hash {
                oid::SHA1 => rsa::Pkcs1v15Sign::new::<Sha1>(),
                oid::SHA224 => rsa::Pkcs1v15Sign::new::<Sha224>(),
                oid::SHA256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                oid::SHA384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                _ => rsa::Pkcs1v15Sign::new::<Sha512>(),
            };
            pk.verify(scheme, &prehash, signature)
                .map_err(|_| PaError::SignatureInvalid)
        }
        _ => Err(PaError::Unsupported(format!("signature {alg}"))),
    }
}
