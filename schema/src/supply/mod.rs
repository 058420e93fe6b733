//! The supply-chain registry's pure parts: corporate-number validation, assessment
//! schemes (the handbook 6.4 scheme built in) and the rating rules. The hub stores
//! suppliers, offerings and assessments and calls these; nothing here touches storage.

pub mod change;
pub mod corporate_number;
pub mod rating;
pub mod scheme;
