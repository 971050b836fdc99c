//! The privacy–utility comparison (`[compare] epsilons`): one model audit per DP setting,
//! run in order over one artifact store (each setting's models have their own keys, since
//! the learner's settings are part of them; the `none` setting's are a plain audit's), and
//! one report: the first setting's audit with every setting's summary in `comparison`.

use super::ModelAudit;
use crate::assemble::AuditOutput;
use crate::{AuditError, Control, ModelTask, Progress};
use mia_report::report::{Comparison, ComparisonSetting};
use std::path::Path;

/// `step` for every setting's audit, the tasks labelled with their setting.
pub(super) fn each(
    audits: &[(String, ModelAudit)],
    step: impl Fn(&ModelAudit) -> Result<Vec<ModelTask>, AuditError>,
) -> Result<Vec<ModelTask>, AuditError> {
    let mut all = Vec::new();
    for (label, audit) in audits {
        all.extend(step(audit)?.into_iter().map(|t| ModelTask { setting: Some(label.clone()), ..t }));
    }
    Ok(all)
}

/// Every setting's audit, then the first one's report with the comparison added.
pub(super) fn report(
    audits: Vec<(String, ModelAudit)>,
    artifacts: &Path,
    require_stored: bool,
    ctl: &Control<'_>,
) -> Result<AuditOutput, AuditError> {
    let mut first: Option<AuditOutput> = None;
    let mut settings = Vec::new();
    for (label, audit) in &audits {
        ctl.report(Progress::Stage("next DP setting"));
        let out = audit.report(artifacts, require_stored, ctl)?;
        let summary = ComparisonSetting::of(label, &out.report)
            .ok_or_else(|| AuditError::Internal("a model audit's report lacks its models section".into()))?;
        settings.push(summary);
        first.get_or_insert(out);
    }
    let mut out = first.ok_or_else(|| AuditError::Input("[compare] epsilons: no setting to run".into()))?;
    out.report.notes.push(format!(
        "Privacy–utility comparison over the settings {}: the same data, plan and seeds, each setting its own target \
         and reference models. The rest of this report (attacks, gate, baseline) is the first setting's ({}) audit.",
        audits.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join(", "),
        audits[0].0
    ));
    out.report.comparison = Some(Comparison { settings });
    Ok(out)
}
