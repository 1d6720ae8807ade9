//! clap's `ValueEnum` for the record enums a flag can take, so `--help`
//! lists their values (the `clap` feature).

use clap::builder::PossibleValue;

use crate::{Confidence, EventType};

impl clap::ValueEnum for Confidence {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Confidence::VeryUnlikely,
            Confidence::Unlikely,
            Confidence::Possible,
            Confidence::Likely,
            Confidence::VeryLikely,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

impl clap::ValueEnum for EventType {
    fn value_variants<'a>() -> &'a [Self] {
        &EventType::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}
