//! The test central office: a CSCA and a Document Signer (ECDSA P-256 keys from seeds, X.509
//! certificates), and the LDS it writes into a chip — EF.COM, DG1 from the MRZ, DG2 from a
//! portrait, and EF.SOD, a CMS `SignedData` over the data group hashes signed by the Document
//! Signer. For tests and the demo only: a real Document Signer key lives in the central office's
//! HSM, and the station never signs.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Tag};
use p256::ecdsa::{DerSignature, SigningKey};
use signature::Signer;
use spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::ChipError;
use crate::lds::{self, DataGroupHash, LdsSecurityObject};
use crate::pa::{digest, oid};
use crate::session::File;

/// A signing party of the test central office (a CSCA or a Document Signer): its key and
/// certificate.
pub struct Party {
    key: SigningKey,
    /// Its certificate.
    pub certificate: Certificate,
}

fn failed(why: &'static str) -> ChipError {
    ChipError::Malformed {
        what: "test central office",
        why,
    }
}

fn key_from_seed(seed: &str) -> Result<SigningKey, ChipError> {
    // A seed names a key reproducibly (fixtures stay byte-stable): SHA-256 of the seed as the
    // scalar (a zero or out-of-range scalar is astronomically unlikely and refused).
    let scalar = digest(&oid::SHA256, seed.as_bytes()).map_err(|_| failed("seed hash"))?;
    SigningKey::from_slice(&scalar).map_err(|_| failed("seed is not a usable P-256 scalar"))
}

fn validity(from: u64, days: u64) -> Result<Validity, ChipError> {
    let t = |s: u64| {
        Time::try_from(std::time::UNIX_EPOCH + Duration::from_secs(s))
            .map_err(|_| failed("a validity time out of range"))
    };
    Ok(Validity {
        not_before: t(from)?,
        not_after: t(from + days * 86_400)?,
    })
}

impl Party {
    /// A self-signed CSCA named `subject` (an RFC 4514 string such as
    /// `CN=Test CSCA,O=pstation test central office,C=ID`), valid `days` from `from` (Unix
    /// seconds), its key derived from `seed`.
    pub fn csca(subject: &str, seed: &str, from: u64, days: u64) -> Result<Self, ChipError> {
        let key = key_from_seed(seed)?;
        let certificate = certificate(Profile::Root, 1, subject, &key, &key, from, days)?;
        Ok(Self { key, certificate })
    }

    /// A Document Signer named `subject`, certified by this CSCA.
    pub fn document_signer(
        &self,
        subject: &str,
        seed: &str,
        serial: u32,
        from: u64,
        days: u64,
    ) -> Result<Self, ChipError> {
        let key = key_from_seed(seed)?;
        let profile = Profile::Leaf {
            issuer: self.certificate.tbs_certificate.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        };
        let certificate = certificate(profile, serial, subject, &key, &self.key, from, days)?;
        Ok(Self { key, certificate })
    }

    /// The certificate as PEM (what `[chip] csca` files hold).
    pub fn certificate_pem(&self) -> Result<String, ChipError> {
        use der::EncodePem;
        self.certificate
            .to_pem(der::pem::LineEnding::LF)
            .map_err(|_| failed("certificate PEM"))
    }
}

fn certificate(
    profile: Profile,
    serial: u32,
    subject: &str,
    subject_key: &SigningKey,
    issuer_key: &SigningKey,
    from: u64,
    days: u64,
) -> Result<Certificate, ChipError> {
    let spki_der = subject_key
        .verifying_key()
        .to_public_key_der()
        .map_err(|_| failed("public key"))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes())
        .map_err(|_| failed("public key info"))?;
    let name = Name::from_str(subject).map_err(|_| failed("certificate subject"))?;
    let builder = CertificateBuilder::new(
        profile,
        SerialNumber::from(serial),
        validity(from, days)?,
        name,
        spki,
        issuer_key,
    )
    .map_err(|_| failed("certificate builder"))?;
    builder
        .build::<DerSignature>()
        .map_err(|_| failed("certificate signature"))
}

/// The LDS files of one chip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lds {
    /// The files by identifier.
    pub files: BTreeMap<File, Vec<u8>>,
}

/// What a chip is made from: the MRZ (lines joined) and the portrait.
pub struct Holder<'a> {
    /// The MRZ lines joined (88 characters for TD3).
    pub mrz: &'a str,
    /// The face image, JPEG.
    pub face: &'a [u8],
    /// Its width in pixels.
    pub width: u16,
    /// Its height in pixels.
    pub height: u16,
}

/// Issues the LDS for `holder`, signed by `signer` (SHA-256 data group hashes, ECDSA P-256).
pub fn issue(holder: &Holder<'_>, signer: &Party) -> Result<Lds, ChipError> {
    let dg1 = lds::build_dg1(holder.mrz);
    let dg2 = lds::build_dg2(holder.face, holder.width, holder.height);
    let sod = sign_sod(&[(1, &dg1), (2, &dg2)], signer)?;
    let mut files = BTreeMap::new();
    files.insert(File::Com, lds::build_com(&[0x61, 0x75]));
    files.insert(File::Dg1, dg1);
    files.insert(File::Dg2, dg2);
    files.insert(File::Sod, sod);
    Ok(Lds { files })
}

/// EF.SOD over the data groups `groups` (number, file bytes), signed by `signer`.
pub fn sign_sod(groups: &[(u8, &[u8])], signer: &Party) -> Result<Vec<u8>, ChipError> {
    let sha256 = AlgorithmIdentifierOwned {
        oid: oid::SHA256,
        parameters: None,
    };
    let mut hashes = Vec::new();
    for (number, bytes) in groups {
        let value = digest(&oid::SHA256, bytes).map_err(|_| failed("hash"))?;
        hashes.push(DataGroupHash {
            number: *number,
            value: OctetString::new(value).map_err(|_| failed("hash value"))?,
        });
    }
    let lso = LdsSecurityObject {
        version: 0,
        hash_algorithm: sha256.clone(),
        hashes,
    };
    let content = lds::to_der(&lso)?;
    let content_digest = digest(&oid::SHA256, &content).map_err(|_| failed("hash"))?;

    let attr = |oid, value: Any| -> Result<Attribute, ChipError> {
        let mut values = SetOfVec::new();
        values
            .insert(value)
            .map_err(|_| failed("attribute value"))?;
        Ok(Attribute { oid, values })
    };
    let mut attrs = SetOfVec::new();
    attrs
        .insert(attr(
            oid::CONTENT_TYPE,
            Any::encode_from(&lds::LDS_SECURITY_OBJECT).map_err(|_| failed("content type"))?,
        )?)
        .map_err(|_| failed("signed attributes"))?;
    attrs
        .insert(attr(
            oid::MESSAGE_DIGEST,
            Any::new(Tag::OctetString, content_digest).map_err(|_| failed("message digest"))?,
        )?)
        .map_err(|_| failed("signed attributes"))?;
    let to_sign = lds::to_der(&attrs)?;
    let signature: DerSignature = signer.key.sign(&to_sign);

    let ds = &signer.certificate;
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: ds.tbs_certificate.issuer.clone(),
            serial_number: ds.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256.clone(),
        signed_attrs: Some(attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: oid::ECDSA_SHA256,
            parameters: None,
        },
        signature: OctetString::new(signature.as_bytes()).map_err(|_| failed("signature"))?,
        unsigned_attrs: None,
    };
    let mut digests = SetOfVec::new();
    digests
        .insert(sha256)
        .map_err(|_| failed("digest algorithms"))?;
    let mut certs = SetOfVec::new();
    certs
        .insert(CertificateChoices::Certificate(ds.clone()))
        .map_err(|_| failed("certificates"))?;
    let mut infos = SetOfVec::new();
    infos
        .insert(signer_info)
        .map_err(|_| failed("signer infos"))?;
    let signed = SignedData {
        version: CmsVersion::V3,
        digest_algorithms: digests,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: lds::LDS_SECURITY_OBJECT,
            econtent: Some(Any::new(Tag::OctetString, content).map_err(|_| failed("content"))?),
        },
        certificates: Some(CertificateSet(certs)),
        crls: None,
        signer_infos: SignerInfos(infos),
    };
    let info = ContentInfo {
        content_type: oid::SIGNED_DATA,
        content: Any::encode_from(&signed).map_err(|_| failed("signed data"))?,
    };
    Ok(lds::build_sod(&lds::to_der(&info)?))
}
