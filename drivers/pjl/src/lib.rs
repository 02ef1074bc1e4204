//! Sans-IO HP PJL + PCL 5: the byte protocol of pstation's first printer family and of its
//! simulated passport printer.
//!
//! Design: nothing here performs I/O or keeps time. Encoders return bytes; decoders are fed
//! bytes and return events; a transport (serial, USB printer class, TCP) and a task that owns the
//! printer sit on top. Every decoder accepts arbitrary input without panicking.
//!
//! - `pcl`: raster pages → PCL 5 (modes 0, 2, 3, the shortest per row, blank rows skipped) and
//!   back (the simulator's decoder).
//! - `pjl`: commands and the job envelope host → printer; the reply and unsolicited-status parser
//!   printer → host.
//! - `status`: device codes → printer state and IPP-style reasons; a job's end → its outcome.

pub mod pcl;
pub mod pjl;
pub mod sim;
pub mod status;
