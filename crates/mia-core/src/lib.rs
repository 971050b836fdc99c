//! `mia-core`: the part of mia-audit every audit trusts.
//!
//! Pure functions from arrays to arrays: per-record membership signals computed from
//! model outputs ([`signals`]), attacks that turn signals into one score per record with
//! the convention *higher score = more likely member* ([`attacks`]), and the evaluation of
//! those scores against known membership ([`roc`], [`bootstrap`], [`stats`], [`epsilon`],
//! [`evaluate`]). No files, no models, no I/O.

pub mod attacks;
pub mod blind;
pub mod bootstrap;
pub mod distribution_free;
pub mod epsilon;
pub mod evaluate;
pub mod llm;
pub mod logistic;
pub mod one_run;
pub mod provenance;
pub mod reference;
pub mod roc;
pub mod signals;
pub mod stats;

pub use evaluate::{AttackEvaluation, Estimate, EvalConfig, TprAtFpr};
pub use signals::{ModelOutputs, Signals};

/// A settings enum from its name as a config spells it (`per_example`) or as a command-line
/// flag does (`per-example`): one spelling list, the enum's serde names, for TOML, flags and
/// the report. The error names the choices.
pub fn parse_name<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    use serde::de::IntoDeserializer;
    let snake = s.trim().replace('-', "_");
    let d: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = snake.as_str().into_deserializer();
    T::deserialize(d).map_err(|e| e.to_string())
}

/// `FromStr` by [`parse_name`], for enums whose serde names are their names everywhere.
#[macro_export]
macro_rules! from_name {
    ($($t:ty),* $(,)?) => {$(
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $crate::parse_name(s)
            }
        }
    )*};
}

/// Errors from the core: inputs whose shapes or values make a computation meaningless.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CoreError {
    #[error("{what}: expected {expected} values, got {got}")]
    Length { what: &'static str, expected: usize, got: usize },
    #[error("need at least one member and one non-member (members: {members}, non-members: {non_members})")]
    OneClass { members: usize, non_members: usize },
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use crate::reference::{LiraStd, OfflineTest, Variance};

    /// Flags and configs spell a choice differently (`two-sided`, `two_sided`); both parse to
    /// the same value, and a wrong name is told the choices.
    #[test]
    fn names_parse_in_either_spelling_and_errors_list_the_choices() {
        assert_eq!("reference-code".parse::<LiraStd>(), Ok(LiraStd::ReferenceCode));
        assert_eq!("reference_code".parse::<LiraStd>(), Ok(LiraStd::ReferenceCode));
        assert_eq!(" per-example ".parse::<Variance>(), Ok(Variance::PerExample));
        assert_eq!("two-sided".parse::<OfflineTest>(), Ok(OfflineTest::TwoSided));
        let e = "sideways".parse::<OfflineTest>().unwrap_err();
        assert!(e.contains("one_sided") && e.contains("two_sided") && e.contains("sideways"), "{e}");
    }
}
