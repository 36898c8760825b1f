//! Issued tax invoices and credit notes, as customers and staff see them: [`view`] turns a
//! document into what the PDF renderer draws.

pub mod view;
