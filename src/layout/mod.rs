//! The TD3 data page: a page model in millimetres built from a validated job, a template and the
//! printer's calibration, and the outputs drawn from it (PDF, raster, PNG preview).
//!
//! Boundary: `page::Page` is the single source for every output; `pdf`, `raster` and the
//! preview never look at the job or the template.

pub mod build;
pub mod fonts;
pub mod page;
pub mod pdf;
pub mod portrait;
pub mod raster;
pub mod readback;
pub mod settings;
pub mod template;
