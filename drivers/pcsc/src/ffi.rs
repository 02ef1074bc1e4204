//! The PC/SC C calls of pcsc-lite, resolved from `libpcsclite.so.1` at run time. pcsc-lite's
//! types on Linux: `LONG` is C `long`, `DWORD` C `unsigned long`, `SCARDCONTEXT` and
//! `SCARDHANDLE` are `LONG` (pcsclite.h, winscard.h).
#![allow(unsafe_code)]

use std::ffi::{CString, c_char, c_long, c_ulong, c_void};
use std::ptr;

use crate::PcscError;

/// A context or card handle.
pub(crate) type Handle = c_long;

#[repr(C)]
struct IoRequest {
    protocol: c_ulong,
    pci_length: c_ulong,
}

type Establish = unsafe extern "C" fn(c_ulong, *const c_void, *const c_void, *mut c_long) -> c_long;
type Release = unsafe extern "C" fn(c_long) -> c_long;
type ListReaders = unsafe extern "C" fn(c_long, *const c_char, *mut c_char, *mut c_ulong) -> c_long;
type Connect = unsafe extern "C" fn(
    c_long,
    *const c_char,
    c_ulong,
    c_ulong,
    *mut c_long,
    *mut c_ulong,
) -> c_long;
type Disconnect = unsafe extern "C" fn(c_long, c_ulong) -> c_long;
type Transmit = unsafe extern "C" fn(
    c_long,
    *const IoRequest,
    *const u8,
    c_ulong,
    *mut IoRequest,
    *mut u8,
    *mut c_ulong,
) -> c_long;
type GetAttrib = unsafe extern "C" fn(c_long, c_ulong, *mut u8, *mut c_ulong) -> c_long;

const SCOPE_SYSTEM: c_ulong = 2;
/// No other PC/SC client may send commands in the middle of a secure-messaging session.
const SHARE_EXCLUSIVE: c_ulong = 1;
const PROTOCOL_T0: c_ulong = 1;
const PROTOCOL_T1: c_ulong = 2;
const RESET_CARD: c_ulong = 1;
/// SCARD_ATTR_ATR_STRING.
const ATTR_ATR: c_ulong = 0x0009_0303;
/// The largest response APDU (extended length: 65536 bytes and the status word).
const MAX_RESPONSE: usize = 65538;

/// `libpcsclite.so.1` with the calls this crate makes.
pub struct Library {
    // Kept loaded for as long as the function pointers below are used.
    _lib: libloading::Library,
    establish: Establish,
    release: Release,
    list_readers: ListReaders,
    connect: Connect,
    disconnect: Disconnect,
    transmit: Transmit,
    get_attrib: GetAttrib,
}

fn check(call: &'static str, rv: c_long) -> Result<(), PcscError> {
    // pcsc-lite returns its codes as a `long` holding the 32-bit value.
    let code = rv as u64 as u32;
    if code == 0 {
        Ok(())
    } else {
        Err(PcscError::from_code(call, code))
    }
}

impl Library {
    /// Loads `libpcsclite.so.1` (or `libpcsclite.so`) and resolves the calls.
    pub fn load() -> Result<Self, PcscError> {
        let mut last = String::new();
        for name in ["libpcsclite.so.1", "libpcsclite.so"] {
            // SAFETY: loading pcsc-lite runs its ELF initialisers, which only set up the
            // library's own state (no global side effects on this process).
            match unsafe { libloading::Library::new(name) } {
                Ok(lib) => return Self::resolve(lib),
                Err(e) => last = e.to_string(),
            }
        }
        Err(PcscError::Library(last))
    }

    fn resolve(lib: libloading::Library) -> Result<Self, PcscError> {
        fn sym<T: Copy>(lib: &libloading::Library, name: &[u8]) -> Result<T, PcscError> {
            // SAFETY: each symbol is read as the function type pcsc-lite's headers declare for
            // it (the type aliases above); the pointer is used only while `lib` is loaded,
            // which `Library` guarantees by owning it.
            unsafe { lib.get::<T>(name) }
                .map(|s| *s)
                .map_err(|e| PcscError::Library(e.to_string()))
        }
        Ok(Self {
            establish: sym(&lib, b"SCardEstablishContext\0")?,
            release: sym(&lib, b"SCardReleaseContext\0")?,
            list_readers: sym(&lib, b"SCardListReaders\0")?,
            connect: sym(&lib, b"SCardConnect\0")?,
            disconnect: sym(&lib, b"SCardDisconnect\0")?,
            transmit: sym(&lib, b"SCardTransmit\0")?,
            get_attrib: sym(&lib, b"SCardGetAttrib\0")?,
            _lib: lib,
        })
    }

    pub(crate) fn establish(&self) -> Result<Handle, PcscError> {
        let mut ctx: c_long = 0;
        // SAFETY: the reserved pointers may be null; `ctx` is a valid out pointer.
        let rv = unsafe { (self.establish)(SCOPE_SYSTEM, ptr::null(), ptr::null(), &mut ctx) };
        check("SCardEstablishContext", rv)?;
        Ok(ctx)
    }

    pub(crate) fn release(&self, ctx: Handle) {
        // SAFETY: `ctx` came from a successful establish and is released once (by Drop).
        unsafe { (self.release)(ctx) };
    }

    pub(crate) fn list_readers(&self, ctx: Handle) -> Result<Vec<String>, PcscError> {
        let mut len: c_ulong = 0;
        // SAFETY: a null buffer asks for the length only; `len` is a valid out pointer.
        let rv = unsafe { (self.list_readers)(ctx, ptr::null(), ptr::null_mut(), &mut len) };
        check("SCardListReaders", rv)?;
        let mut buf = vec![0u8; len as usize + 1];
        // SAFETY: `buf` holds `len` bytes as the previous call asked for (one more spare).
        let rv =
            unsafe { (self.list_readers)(ctx, ptr::null(), buf.as_mut_ptr().cast(), &mut len) };
        check("SCardListReaders", rv)?;
        // A multi-string: names ended by NUL, the list ended by an empty name.
        Ok(buf[..(len as usize).min(buf.len())]
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect())
    }

    pub(crate) fn connect(&self, ctx: Handle, reader: &str) -> Result<(Handle, u64), PcscError> {
        let name = CString::new(reader)
            .map_err(|_| PcscError::NoReader("with a NUL in its name".into()))?;
        let mut card: c_long = 0;
        let mut protocol: c_ulong = 0;
        // SAFETY: `name` is NUL-terminated and outlives the call; both out pointers are valid.
        let rv = unsafe {
            (self.connect)(
                ctx,
                name.as_ptr(),
                SHARE_EXCLUSIVE,
                PROTOCOL_T0 | PROTOCOL_T1,
                &mut card,
                &mut protocol,
            )
        };
        check("SCardConnect", rv)?;
        Ok((card, protocol as u64))
    }

    pub(crate) fn disconnect(&self, card: Handle) {
        // SAFETY: `card` came from a successful connect and is disconnected once (by Drop).
        unsafe { (self.disconnect)(card, RESET_CARD) };
    }

    pub(crate) fn transmit(
        &self,
        card: Handle,
        protocol: u64,
        apdu: &[u8],
    ) -> Result<Vec<u8>, PcscError> {
        let send = IoRequest {
            protocol: protocol as c_ulong,
            pci_length: std::mem::size_of::<IoRequest>() as c_ulong,
        };
        let mut out = vec![0u8; MAX_RESPONSE];
        let mut len = out.len() as c_ulong;
        // SAFETY: `send` is a valid protocol control block; `apdu` is read for its length;
        // `out` is writable for `len` bytes; the receive PCI may be null.
        let rv = unsafe {
            (self.transmit)(
                card,
                &send,
                apdu.as_ptr(),
                apdu.len() as c_ulong,
                ptr::null_mut(),
                out.as_mut_ptr(),
                &mut len,
            )
        };
        check("SCardTransmit", rv)?;
        out.truncate((len as usize).min(MAX_RESPONSE));
        Ok(out)
    }

    pub(crate) fn atr(&self, card: Handle) -> Result<Vec<u8>, PcscError> {
        let mut out = vec![0u8; 64];
        let mut len = out.len() as c_ulong;
        // SAFETY: `out` is writable for `len` bytes; `len` is a valid in/out pointer.
        let rv = unsafe { (self.get_attrib)(card, ATTR_ATR, out.as_mut_ptr(), &mut len) };
        check("SCardGetAttrib", rv)?;
        out.truncate((len as usize).min(64));
        Ok(out)
    }
}
