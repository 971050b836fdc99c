//! `report.html`: one self-contained page (inline CSS, inline SVG, a few lines of inline
//! script; no external URL of any kind) that reads the report for a person: the gate
//! verdict and a plain-language leakage reading, a log-log ROC plot of every attack, score
//! histograms, the metrics table, the overfitting reading, leaking per-class slices, the
//! most exposed records (by id only, never feature values), caveats and notes.
//!
//! The page is a pure function of its inputs (no timestamps), and every piece of text that
//! comes from a user file (ids, attack names, file names, notes) is HTML-escaped.

use crate::RecordScores;
use crate::records::descending_ranks;
use crate::report::{AttackReport, ComparisonSetting, Report, WorstTpr};
use mia_core::Estimate;
use mia_core::roc::FprRule;
use std::fmt::Write;

/// Okabe–Ito colour-blind-safe palette (yellow darkened for contrast on white); attacks
/// past the eighth reuse colours with a dash pattern.
const PALETTE: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#B59B00"];
const DASHES: [&str; 3] = ["", "6 3", "2 2"];
const MEMBER_COLOUR: &str = "#0072B2";
const NON_MEMBER_COLOUR: &str = "#E69F00";
/// Narrow no-break space, between a number and its unit.
const NNBSP: char = '\u{202F}';

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `x` to `digits` significant digits; scientific below 1e-3 and from 1e6; "—" when not finite.
fn sig(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e6).contains(&a) {
        return sci(x, digits.saturating_sub(1));
    }
    let mag = a.log10().floor() as i64;
    let decimals = (digits as i64 - 1 - mag).max(0) as usize;
    format!("{x:.decimals$}")
}

/// Scientific form with trailing zeros of the mantissa dropped: 1e-3, 2.5e-4.
fn sci(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let s = format!("{x:.decimals$e}");
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            let m = m.trim_end_matches('0').trim_end_matches('.');
            format!("{m}e{e}")
        }
        _ => s,
    }
}

/// `sig` without trailing zeros after the decimal point: 10, 0.05, 12.5.
fn num(x: f64, digits: usize) -> String {
    let s = sig(x, digits);
    if s.contains('.') && !s.contains('e') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// A rate as a percentage number (no sign), 3 significant digits.
fn pct_num(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    if x == 1.0 {
        return "100".into();
    }
    num(x * 100.0, 3)
}

fn pct(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    format!("{}{NNBSP}%", pct_num(x))
}

/// An FPR target: scientific below 1 %, else a percentage.
fn fpr_label(f: f64) -> String {
    if f < 0.01 { sci(f, 2) } else { pct(f) }
}

fn fixed(x: f64, decimals: usize) -> String {
    if x.is_finite() { format!("{x:.decimals$}") } else { "—".into() }
}

fn p_value(p: f64) -> String {
    if !p.is_finite() {
        "—".into()
    } else if p == 0.0 {
        "< 1e-300".into()
    } else if p < 1e-3 {
        sci(p, 1)
    } else {
        format!("{p:.3}")
    }
}

fn ci_with(ci: Option<[f64; 2]>, f: impl Fn(f64) -> String) -> String {
    match ci {
        Some([lo, hi]) => format!("[{}, {}]", f(lo), f(hi)),
        None => "no interval".into(),
    }
}

/// Value and interval in one cell: `0.832` over a small grey `[0.812, 0.851]`.
fn cell(value: String, ci: Option<[f64; 2]>, f: impl Fn(f64) -> String) -> String {
    format!("{value}<span class=\"ci\">{}</span>", ci_with(ci, f))
}

fn est_cell(e: &Estimate, f: impl Fn(f64) -> String + Copy) -> String {
    if !e.supported {
        let note = e.note.as_deref().unwrap_or("not supported by the sample size");
        return format!(
            "<span class=\"unsupported\" title=\"{}\">{}<sup>†</sup><span class=\"ci\">{}</span></span>",
            escape(note),
            f(e.value),
            ci_with(e.ci, f)
        );
    }
    let mut s = cell(f(e.value), e.ci, f);
    if let Some(n) = &e.note {
        let _ = write!(s, "<span class=\"ci\" title=\"{}\">*</span>", escape(n));
    }
    s
}

fn fmt_int(n: impl Into<u128>) -> String {
    let s = n.into().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn colour(i: usize) -> (&'static str, &'static str) {
    (PALETTE[i % PALETTE.len()], DASHES[(i / PALETTE.len()) % DASHES.len()])
}

const CSS: &str = r#"
:root { --fg:#1d2430; --muted:#5b6472; --line:#d9dee5; --bg:#ffffff; --soft:#f5f7fa; --accent:#0072B2; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 28px 60px; }
h1 { font-size: 26px; margin: 0 0 2px; letter-spacing: -0.01em; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 4px; }
p { margin: 6px 0; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.92em; }
.sub { color: var(--muted); margin-bottom: 14px; }
.muted { color: var(--muted); }
.small { font-size: 13px; }
dl.meta { display: grid; grid-template-columns: 150px 1fr; gap: 4px 16px; margin: 10px 0 0; font-size: 14px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
.verdict { border: 1px solid var(--line); border-left: 6px solid #8a93a0; background: var(--soft);
  padding: 14px 18px; border-radius: 6px; margin: 22px 0 8px; }
.verdict.fail { border-left-color: #D55E00; background: #fdf3ec; }
.verdict.pass { border-left-color: #009E73; background: #eef8f4; }
.verdict .label { font-weight: 700; font-size: 18px; }
.verdict.fail .label { color: #a8420a; }
.verdict.pass .label { color: #00704f; }
.verdict ul { margin: 6px 0 8px; padding-left: 20px; }
.verdict .reading { margin-top: 8px; }
.fired { color: #a8420a; font-weight: 600; }
.warn { color: #8a5a00; }
.figure-row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #1d2430; }
svg .grid { stroke: #e3e7ec; stroke-width: 1; }
svg .grid.minor { stroke: #f0f2f5; }
svg .axis { stroke: #7a828e; stroke-width: 1; fill: none; }
svg .tick { font-size: 11px; fill: #4a525e; }
svg .axis-title { font-size: 12px; fill: #2c3440; }
ul.legend { list-style: none; padding: 0; margin: 0; font-size: 14px; min-width: 240px; }
ul.legend li { display: flex; align-items: center; gap: 8px; padding: 2px 0; }
ul.legend .worst { font-weight: 700; }
.hists { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 14px 18px; }
.hists svg { width: 100%; height: auto; display: block; }
.hists figure { margin: 0; display: flex; flex-direction: column; }
.hists figcaption { font-size: 13px; margin-bottom: 2px; flex: 1; overflow-wrap: anywhere; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin: 0 4px 0 10px; opacity: 0.7; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 14px; margin: 6px 0; }
th, td { padding: 6px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { text-align: left; font-weight: 600; background: var(--soft); font-size: 13px; line-height: 1.3; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td .ci { display: block; color: var(--muted); font-size: 12px; }
td.unsupported, span.unsupported { color: #9aa1ab; }
td.unsupported .ci, span.unsupported .ci { color: #b5bbc3; }
td.best { font-weight: 700; }
td.best .ci { font-weight: 400; }
tr.worst td.name { font-weight: 700; }
.footnote { font-size: 13px; color: var(--muted); }
details { margin: 10px 0; }
details > summary { cursor: pointer; font-weight: 600; }
ul.plain { padding-left: 20px; }
ul.plain li { margin: 3px 0; }
.yes { color: #00704f; font-weight: 600; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print { main { max-width: none; padding: 0; } .verdict { break-inside: avoid; } }
"#;

const SCRIPT: &str = r##"
window.addEventListener("load", function () {
  var n = 0;
  var paths = document.querySelectorAll("#roc-plot path.roc-curve");
  for (var i = 0; i < paths.length; i++) {
    if (paths[i].getTotalLength() > 0) { n++; }
  }
  document.body.dataset.rocCurvesRendered = String(n);
});
"##;

/// Renders the page. `records` supplies ids and per-record scores for the most-exposed
/// table (`top_n` rows, ranked by the attack with the highest AUC).
pub fn render_html(report: &Report, records: &RecordScores, top_n: usize) -> String {
    render_html_with_tokens(report, records, top_n, &[])
}

/// [`render_html`] with the per-token exposure of a language-model audit's most exposed texts.
pub fn render_html_with_tokens(
    report: &Report,
    records: &RecordScores,
    top_n: usize,
    tokens: &[TokenExposure],
) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("Membership-inference audit — {} {}", report.tool.name, report.command);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        escape(&title)
    );
    header(&mut h, report);
    verdict(&mut h, report);
    roc_section(&mut h, report);
    histograms(&mut h, report);
    metrics_table(&mut h, report);
    blind(&mut h, report);
    privacy(&mut h, report);
    one_run(&mut h, report);
    baseline(&mut h, report);
    comparison(&mut h, report);
    overfitting(&mut h, report);
    models(&mut h, report);
    synthetic(&mut h, report);
    slices(&mut h, report);
    exposed(&mut h, report, records, top_n);
    token_exposure(&mut h, report, tokens);
    caveats(&mut h, report);
    let _ = write!(
        h,
        "<footer>Generated by {} {} (report schema {}). Scores: higher = more member-like. \
         The same inputs and seed give the same page.</footer>\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(report.tool.name),
        escape(report.tool.version),
        escape(report.schema_version)
    );
    h
}

fn header(h: &mut String, r: &Report) {
    let _ = write!(
        h,
        "<header>\n<h1>Membership-inference audit</h1>\n<p class=\"sub\">{} {} · <code>mia {}</code> · seed {}</p>\n<dl class=\"meta\">\n",
        escape(r.tool.name),
        escape(r.tool.version),
        escape(&r.command),
        r.seed
    );
    // Inputs.
    h.push_str("<dt>Inputs</dt><dd>");
    if r.inputs.is_empty() {
        h.push_str("<span class=\"muted\">none recorded</span>");
    }
    for (i, f) in r.inputs.iter().enumerate() {
        if i > 0 {
            h.push_str("<br>");
        }
        let short: String = f.sha256.chars().take(12).collect();
        let _ = write!(
            h,
            "<code>{}</code> <span class=\"muted small\">sha256 <span class=\"mono\" title=\"{}\">{}…</span> · {} bytes</span>",
            escape(&f.path),
            escape(&f.sha256),
            escape(&short),
            fmt_int(f.bytes)
        );
    }
    h.push_str("</dd>\n");
    // Rows.
    let rows = &r.rows;
    let _ = write!(
        h,
        "<dt>Records</dt><dd>{} read, <b>{} kept</b> ({} members, {} non-members)",
        fmt_int(rows.read as u64),
        fmt_int(rows.kept as u64),
        fmt_int(rows.members as u64),
        fmt_int(rows.non_members as u64)
    );
    let skipped: usize = rows.skipped.iter().map(|s| s.count).sum();
    if skipped == 0 {
        h.push_str("; none skipped");
    } else {
        let _ = write!(h, "; {} skipped: ", fmt_int(skipped as u64));
        let parts: Vec<String> =
            rows.skipped.iter().map(|s| format!("{} ({})", escape(&s.reason), fmt_int(s.count as u64))).collect();
        h.push_str(&parts.join("; "));
    }
    h.push_str("</dd>\n");
    // Outputs (model audits only).
    if let Some(o) = &r.outputs {
        let _ = write!(h, "<dt>Model outputs</dt><dd>{}", escape(&o.kind));
        if let Some(c) = o.n_classes {
            let _ = write!(h, ", {c} classes");
        }
        if o.saturated_records > 0 {
            let _ = write!(
                h,
                "; <span class=\"warn\">{} records saturated (their loss and φ tie)</span>",
                fmt_int(o.saturated_records as u64)
            );
        }
        h.push_str("</dd>\n");
    }
    // Settings.
    let s = &r.settings;
    let e = &s.eval;
    let targets: Vec<String> = e.fpr_targets.iter().map(|&t| fpr_label(t)).collect();
    let rule = match e.fpr_rule {
        FprRule::AtMost => "FPR ≤ target",
        FprRule::Strict => "FPR < target",
    };
    let rates: Vec<String> = e.base_rates.iter().map(|&b| pct(b)).collect();
    let _ = write!(
        h,
        "<dt>Settings</dt><dd class=\"small\">FPR targets {} ({rule}); {} intervals, {} bootstrap resamples; \
         ε at δ = {}; PPV at base rates {}; TPR@FPR supported from {}/FPR non-members; {}-fold cross-fitting; \
         probability tolerance {}",
        escape(&targets.join(", ")),
        pct(e.confidence),
        fmt_int(e.bootstrap_resamples as u64),
        sci(e.delta, 2),
        escape(&rates.join(", ")),
        num(e.min_negatives_per_fpr, 3),
        s.cross_fit_folds,
        sci(s.prob_tolerance, 2)
    );
    if !s.slices_attacks.is_empty() {
        let _ = write!(h, "; per-class slices of {}", escape(&s.slices_attacks.join(", ")));
    }
    h.push_str("</dd>\n</dl>\n</header>\n");
}

fn find<'a>(r: &'a Report, name: &str) -> Option<&'a AttackReport> {
    r.attacks.iter().find(|a| a.name == name)
}

fn verdict(h: &mut String, r: &Report) {
    let g = &r.gate;
    let class = match g.verdict.as_str() {
        "fail" => "fail",
        "pass" => "pass",
        _ => "none",
    };
    let _ = writeln!(h, "<section class=\"verdict {class}\" id=\"verdict\">");
    let fired = g.rules.iter().filter(|x| x.fired).count();
    match class {
        "fail" => {
            let _ = write!(
                h,
                "<div class=\"label\">Release gate: FAIL</div><p>{fired} of {} rule{} fired.</p>",
                g.rules.len(),
                if g.rules.len() == 1 { "" } else { "s" }
            );
        }
        "pass" => {
            let _ = write!(
                h,
                "<div class=\"label\">Release gate: PASS</div><p>None of {} rule{} fired.</p>",
                g.rules.len(),
                if g.rules.len() == 1 { "" } else { "s" }
            );
        }
        _ => h.push_str(
            "<div class=\"label\">No release gate</div><p class=\"muted\">No <code>--fail-if</code> rules were given; the reading below is informational.</p>",
        ),
    }
    if !g.rules.is_empty() {
        h.push_str("<ul>");
        for rule in &g.rules {
            let _ = write!(
                h,
                "<li><code>{}</code> — value {} — {}",
                escape(&rule.expr),
                num(rule.value, 4),
                if rule.fired { "<span class=\"fired\">fired</span>" } else { "held" }
            );
            h.push_str("</li>");
        }
        h.push_str("</ul>\n");
    }
    // Plain-language reading from the worst attack by AUC.
    if let Some(a) = find(r, &r.max.auc.attack) {
        let e = &a.evaluation;
        let _ = write!(
            h,
            "<p class=\"reading\"><b>Worst attack: {}</b> — AUC {} {}",
            escape(&a.name),
            fixed(e.auc.value, 3),
            ci_with(e.auc.ci, |x| fixed(x, 3))
        );
        // The lowest FPR target the sample supports, else the largest target.
        let t = e
            .tpr_at_fpr
            .iter()
            .filter(|t| t.supported)
            .min_by(|a, b| a.fpr.total_cmp(&b.fpr))
            .or_else(|| e.tpr_at_fpr.iter().max_by(|a, b| a.fpr.total_cmp(&b.fpr)));
        if let Some(t) = t {
            let _ = write!(
                h,
                "; TPR {} at FPR {} ({})",
                pct(t.tpr),
                pct(t.fpr),
                if t.supported {
                    "supported by sample size".to_string()
                } else {
                    format!(
                        "<span class=\"warn\">not supported by sample size: fewer than {}/FPR non-members</span>",
                        num(r.settings.eval.min_negatives_per_fpr, 3)
                    )
                }
            );
            let _ = write!(
                h,
                ".</p>\n<p>In words: an attacker using <b>{}</b> scores can pick out {} of the training-set members \
                 while wrongly flagging {} of non-members",
                escape(&a.name),
                pct(t.tpr),
                pct(t.achieved_fpr)
            );
            if t.tpr > 0.0 && t.achieved_fpr > 0.0 {
                let _ = write!(h, " — {}× the rate of a blind guess", sig(t.tpr / t.achieved_fpr, 2));
            } else if t.tpr > 0.0 {
                h.push_str(" — none of them false alarms");
            }
            h.push('.');
        }
        h.push_str("</p>\n");
        let adv = &r.max.advantage;
        let eps = &r.max.eps_lower_bound;
        let _ = writeln!(
            h,
            "<p class=\"small\">Largest membership advantage (TPR − FPR): {} ({}). \
             Empirical ε lower bound: {} at δ = {} ({}); any (ε, δ)-DP guarantee of this training would need at least this ε.</p>",
            fixed(adv.value, 3),
            escape(&adv.attack),
            fixed(eps.value, 2),
            sci(r.settings.eval.delta, 2),
            escape(&eps.attack)
        );
    } else {
        h.push_str("<p class=\"reading muted\">No attack was evaluated.</p>\n");
    }
    h.push_str("</section>\n");
}

/// Log-log ROC plot geometry.
struct LogAxes {
    floor_exp: i32,
    x0: f64,
    y0: f64,
    size: f64,
}

impl LogAxes {
    fn frac(&self, v: f64) -> f64 {
        let lf = self.floor_exp as f64;
        let v = if v.is_finite() { v.clamp(10f64.powi(self.floor_exp), 1.0) } else { 10f64.powi(self.floor_exp) };
        (v.log10() - lf) / -lf
    }
    fn x(&self, f: f64) -> f64 {
        self.x0 + self.frac(f) * self.size
    }
    fn y(&self, t: f64) -> f64 {
        self.y0 + self.size - self.frac(t) * self.size
    }
}

fn decade_label(e: i32) -> String {
    if e == 0 {
        "1".into()
    } else {
        // 10 with a superscript exponent, using a real minus sign.
        format!("10<tspan dy=\"-5\" font-size=\"9\">−{}</tspan>", -e)
    }
}

/// The plotted ROC points of an attack (mia-core keeps the top of the zero-FPR segment
/// when it thins the curve).
fn roc_points(a: &AttackReport) -> Vec<(f64, f64)> {
    a.evaluation.roc.fpr.iter().copied().zip(a.evaluation.roc.tpr.iter().copied()).collect()
}

fn roc_section(h: &mut String, r: &Report) {
    h.push_str("<section id=\"roc\">\n<h2>ROC curves (log-log)</h2>\n");
    let n_max =
        r.attacks.iter().map(|a| a.evaluation.n_members.max(a.evaluation.n_non_members)).max().unwrap_or(10).max(1);
    // One decade below 1/n (so that zero rates, clamped to the floor, stand apart from the
    // smallest measurable rate), but no lower than 1e-5.
    let floor_exp = ((0.5 / n_max as f64).log10().floor() as i32).clamp(-5, -1);
    let ax = LogAxes { floor_exp, x0: 62.0, y0: 14.0, size: 400.0 };
    let (w, hgt) = (ax.x0 + ax.size + 18.0, ax.y0 + ax.size + 50.0);
    let _ = write!(
        h,
        "<div class=\"figure-row\">\n<svg id=\"roc-plot\" width=\"{w}\" height=\"{hgt}\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" \
         aria-label=\"ROC curves of all attacks on log-log axes\">\n"
    );
    // Grid: decades and minor ticks.
    let (left, right, top, bottom) = (ax.x0, ax.x0 + ax.size, ax.y0, ax.y0 + ax.size);
    for e in floor_exp..=0 {
        let base = 10f64.powi(e);
        if e < 0 {
            for m in 2..=9 {
                let v = base * m as f64;
                let (x, y) = (ax.x(v), ax.y(v));
                let _ = write!(
                    h,
                    "<line class=\"grid minor\" x1=\"{x:.2}\" y1=\"{top}\" x2=\"{x:.2}\" y2=\"{bottom}\"/>\
                     <line class=\"grid minor\" x1=\"{left}\" y1=\"{y:.2}\" x2=\"{right}\" y2=\"{y:.2}\"/>"
                );
            }
        }
        let (x, y) = (ax.x(base), ax.y(base));
        let _ = writeln!(
            h,
            "<line class=\"grid\" x1=\"{x:.2}\" y1=\"{top}\" x2=\"{x:.2}\" y2=\"{bottom}\"/>\
             <line class=\"grid\" x1=\"{left}\" y1=\"{y:.2}\" x2=\"{right}\" y2=\"{y:.2}\"/>\
             <text class=\"tick\" x=\"{x:.2}\" y=\"{:.2}\" text-anchor=\"middle\">{}</text>\
             <text class=\"tick\" x=\"{:.2}\" y=\"{:.2}\" text-anchor=\"end\">{}</text>",
            bottom + 18.0,
            decade_label(e),
            left - 7.0,
            y + 4.0,
            decade_label(e)
        );
    }
    let _ = write!(
        h,
        "<rect class=\"axis\" x=\"{left}\" y=\"{top}\" width=\"{}\" height=\"{}\"/>\n\
         <text class=\"axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">False positive rate (non-members flagged)</text>\n\
         <text class=\"axis-title\" transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">True positive rate (members found)</text>\n",
        ax.size,
        ax.size,
        left + ax.size / 2.0,
        bottom + 40.0,
        top + ax.size / 2.0
    );
    // Chance diagonal.
    let _ = writeln!(
        h,
        "<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{top}\" stroke=\"#8a93a0\" stroke-width=\"1.2\" stroke-dasharray=\"5 4\"/>\
         <text class=\"tick\" x=\"{cx:.1}\" y=\"{cy:.1}\" transform=\"rotate(-45 {cx:.1} {cy:.1})\" text-anchor=\"middle\" fill=\"#7a828e\">chance (TPR = FPR)</text>",
        cx = left + ax.size * 0.80 + 9.0,
        cy = top + ax.size * 0.20 + 9.0,
    );
    // Curves; the worst attack drawn last and thicker.
    let worst = r.max.auc.attack.as_str();
    let mut order: Vec<usize> = (0..r.attacks.len()).collect();
    order.sort_by_key(|&i| r.attacks[i].name == worst);
    for i in order {
        let a = &r.attacks[i];
        let (c, dash) = colour(i);
        let mut d = String::new();
        let mut last: Option<(String, String)> = None;
        for (f, t) in roc_points(a) {
            let (x, y) = (format!("{:.2}", ax.x(f)), format!("{:.2}", ax.y(t)));
            if last.as_ref() == Some(&(x.clone(), y.clone())) {
                continue;
            }
            let _ = write!(d, "{}{x},{y}", if last.is_none() { "M" } else { " L" });
            last = Some((x, y));
        }
        if d.is_empty() {
            continue;
        }
        let width = if a.name == worst { 2.6 } else { 1.7 };
        let dash_attr = if dash.is_empty() { String::new() } else { format!(" stroke-dasharray=\"{dash}\"") };
        let _ = writeln!(
            h,
            "<path class=\"roc-curve\" data-attack=\"{}\" d=\"{d}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"{width}\"{dash_attr} \
             stroke-linejoin=\"round\"><title>{} (AUC {})</title></path>",
            escape(&a.name),
            escape(&a.name),
            fixed(a.evaluation.auc.value, 3)
        );
    }
    h.push_str("</svg>\n<div>\n<ul class=\"legend\">\n");
    for (i, a) in r.attacks.iter().enumerate() {
        let (c, dash) = colour(i);
        let dash_attr = if dash.is_empty() { String::new() } else { format!(" stroke-dasharray=\"{dash}\"") };
        let _ = writeln!(
            h,
            "<li{}><svg width=\"30\" height=\"10\" aria-hidden=\"true\"><line x1=\"1\" y1=\"5\" x2=\"29\" y2=\"5\" stroke=\"{c}\" stroke-width=\"{}\"{dash_attr}/></svg>\
             <span>{} <span class=\"muted small\">AUC {}</span></span></li>",
            if a.name == worst { " class=\"worst\"" } else { "" },
            if a.name == worst { 3 } else { 2 },
            escape(&a.name),
            fixed(a.evaluation.auc.value, 3)
        );
    }
    let _ = write!(
        h,
        "</ul>\n<p class=\"footnote\" style=\"max-width:300px\">Each curve is the attack's threshold sweep: the share of members \
         found (TPR) against the share of non-members wrongly flagged (FPR). Leakage shows at the left, at low FPR. \
         Zero rates are drawn at the axis floor (10<sup>−{}</sup>); the thick curve is the worst attack by AUC.</p>\n</div>\n</div>\n</section>\n",
        -floor_exp
    );
}

fn histograms(h: &mut String, r: &Report) {
    if r.attacks.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<section id=\"histograms\">\n<h2>Score distributions</h2>\n<p class=\"small muted\">Share of each group per score bin \
         (higher score = more member-like):<span class=\"swatch\" style=\"background:{MEMBER_COLOUR}\"></span>members\
         <span class=\"swatch\" style=\"background:{NON_MEMBER_COLOUR}\"></span>non-members. \
         Scores outside the central 99 % of all scores are counted in the end bins.</p>\n<div class=\"hists\">\n"
    );
    let (w, hh) = (260.0, 150.0);
    let (l, rgt, t, b) = (40.0, 8.0, 8.0, 24.0);
    let (pw, ph) = (w - l - rgt, hh - t - b);
    for a in &r.attacks {
        let hist = &a.evaluation.histogram;
        let bins = hist.members.len().min(hist.non_members.len());
        let tm: u64 = hist.members.iter().sum();
        let tn: u64 = hist.non_members.iter().sum();
        let share = |c: u64, tot: u64| if tot > 0 { c as f64 / tot as f64 } else { 0.0 };
        let ymax = (0..bins)
            .flat_map(|k| [share(hist.members[k], tm), share(hist.non_members[k], tn)])
            .fold(0.0f64, f64::max)
            .max(1e-9);
        let _ = write!(
            h,
            "<figure><figcaption><b>{}</b> <span class=\"muted\">AUC {}</span></figcaption>\n\
             <svg class=\"hist\" data-attack=\"{}\" width=\"{w}\" height=\"{hh}\" viewBox=\"0 0 {w} {hh}\" role=\"img\" aria-label=\"score histogram of {}\">\n",
            escape(&a.name),
            fixed(a.evaluation.auc.value, 3),
            escape(&a.name),
            escape(&a.name)
        );
        let _ = write!(
            h,
            "<line class=\"grid\" x1=\"{l}\" y1=\"{t}\" x2=\"{}\" y2=\"{t}\"/><line class=\"grid\" x1=\"{l}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\"/>",
            l + pw,
            t + ph / 2.0,
            l + pw,
            t + ph / 2.0
        );
        if bins > 0 {
            let bw = pw / bins as f64;
            for (counts, tot, col) in [(&hist.non_members, tn, NON_MEMBER_COLOUR), (&hist.members, tm, MEMBER_COLOUR)] {
                let _ = write!(h, "<g fill=\"{col}\" fill-opacity=\"0.55\">");
                for (k, &c) in counts.iter().take(bins).enumerate() {
                    let v = share(c, tot);
                    if v <= 0.0 {
                        continue;
                    }
                    let bh = v / ymax * ph;
                    let _ = write!(
                        h,
                        "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\"/>",
                        l + k as f64 * bw,
                        t + ph - bh,
                        bw,
                        bh
                    );
                }
                h.push_str("</g>");
            }
        }
        let lo = hist.edges.first().copied().unwrap_or(f64::NAN);
        let hi = hist.edges.last().copied().unwrap_or(f64::NAN);
        let _ = write!(
            h,
            "<line class=\"axis\" x1=\"{l}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\"/><line class=\"axis\" x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{:.1}\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">0</text>\
             <text class=\"tick\" x=\"{l}\" y=\"{}\" text-anchor=\"start\">{}</text><text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#7a828e\">score</text>\n</svg></figure>\n",
            t + ph,
            l + pw,
            t + ph,
            t + ph,
            l - 4.0,
            t + 9.0,
            pct(ymax),
            l - 4.0,
            t + ph,
            t + ph + 15.0,
            escape(&sig(lo, 3)),
            l + pw,
            t + ph + 15.0,
            escape(&sig(hi, 3)),
            l + pw / 2.0,
            t + ph + 15.0
        );
    }
    h.push_str("</div>\n</section>\n");
}

/// Index of the largest finite value, if any.
fn argmax(v: impl Iterator<Item = f64>) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, x) in v.enumerate() {
        if x.is_finite() && best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i)
}

fn metrics_table(h: &mut String, r: &Report) {
    h.push_str("<section id=\"metrics\">\n<h2>Metrics by attack</h2>\n");
    if r.attacks.is_empty() {
        h.push_str("<p class=\"muted\">No attack was evaluated.</p>\n</section>\n");
        return;
    }
    let conf = pct(r.settings.eval.confidence);
    let targets: Vec<f64> = r.attacks[0].evaluation.tpr_at_fpr.iter().map(|t| t.fpr).collect();
    let _ = write!(
        h,
        "<p class=\"small muted\">Intervals are at {conf}: bootstrap percentiles for AUC and TPR (distribution-free bounds \
         below {} members or non-members), and a Dvoretzky–Kiefer–Wolfowitz bound for the advantage, a maximum over \
         thresholds that a bootstrap would place above a true advantage of 0. \
         TPR at FPR ≤ target is the largest TPR over thresholds whose FPR does not exceed the target; shown in %. \
         The ε lower bound is at δ = {} and {conf} confidence. p: one-sided Mann–Whitney test that members score higher. \
         Bold: the worst attack for that column.</p>\n<div class=\"table-wrap\">\n<table class=\"metrics\">\n<thead><tr>\
         <th>Attack</th><th class=\"num\">AUC</th><th class=\"num\">Advantage</th>",
        r.settings.eval.bootstrap_min_class_size,
        sci(r.settings.eval.delta, 2)
    );
    for &t in &targets {
        let _ = write!(h, "<th class=\"num\">TPR %<br>@ FPR {}</th>", fpr_label(t));
    }
    h.push_str("<th class=\"num\">ε lower<br>bound</th><th class=\"num\">p</th></tr></thead>\n<tbody>\n");
    let best_auc = argmax(r.attacks.iter().map(|a| a.evaluation.auc.value));
    let best_adv = argmax(r.attacks.iter().map(|a| a.evaluation.advantage.value));
    let best_eps = argmax(r.attacks.iter().map(|a| a.evaluation.eps_lower_bound.value));
    let best_tpr: Vec<Option<usize>> = (0..targets.len())
        .map(|k| argmax(r.attacks.iter().map(|a| a.evaluation.tpr_at_fpr.get(k).map_or(f64::NAN, |t| t.tpr))))
        .collect();
    let mut any_unsupported = false;
    // Every attack is measured on the same records, so the first one's counts stand for all.
    let small = !r.attacks[0].evaluation.auc.supported;
    let worst = r.max.auc.attack.as_str();
    for (i, a) in r.attacks.iter().enumerate() {
        let e = &a.evaluation;
        let b = |x: Option<usize>| if x == Some(i) { " best" } else { "" };
        let _ = write!(
            h,
            "<tr{}><td class=\"name\" title=\"{}\">{}</td><td class=\"num{}\">{}</td><td class=\"num{}\">{}</td>",
            if a.name == worst { " class=\"worst\"" } else { "" },
            escape(&a.description),
            escape(&a.name).replace('_', "_<wbr>"),
            b(best_auc),
            est_cell(&e.auc, |x| fixed(x, 3)),
            b(best_adv),
            est_cell(&e.advantage, |x| fixed(x, 3)),
        );
        for (k, &t) in targets.iter().enumerate() {
            match e.tpr_at_fpr.get(k) {
                Some(tp) if tp.supported => {
                    let _ =
                        write!(h, "<td class=\"num{}\">{}</td>", b(best_tpr[k]), cell(pct_num(tp.tpr), tp.ci, pct_num));
                }
                Some(tp) => {
                    any_unsupported = true;
                    let _ = write!(
                        h,
                        "<td class=\"num unsupported\" title=\"not supported: {}\">{}<sup>†</sup>{}</td>",
                        if small {
                            format!("fewer than {} members or non-members", r.settings.eval.min_class_size)
                        } else {
                            format!("fewer than {}/FPR non-members", num(r.settings.eval.min_negatives_per_fpr, 3))
                        },
                        pct_num(tp.tpr),
                        format_args!("<span class=\"ci\">{}</span>", ci_with(tp.ci, pct_num))
                    );
                }
                None => {
                    let _ = write!(h, "<td class=\"num muted\" title=\"target {}\">—</td>", fpr_label(t));
                }
            }
        }
        let _ = writeln!(
            h,
            "<td class=\"num{}\">{}</td><td class=\"num\">{}</td></tr>",
            b(best_eps),
            fixed(e.eps_lower_bound.value, 2),
            p_value(e.p_value)
        );
    }
    h.push_str("</tbody>\n</table>\n</div>\n");
    if small {
        let e = &r.attacks[0].evaluation;
        let _ = writeln!(
            h,
            "<p class=\"footnote\">† Not supported by the sample size: {} members and {} non-members, fewer than {} in a \
             class. A bootstrap cannot represent so small a class; the intervals shown are distribution-free bounds \
             (Hoeffding for the AUC, Dvoretzky–Kiefer–Wolfowitz bands for advantage and TPR), valid at any size but \
             wide. Gate rules over these figures stop with exit code 2.</p>",
            fmt_int(e.n_members),
            fmt_int(e.n_non_members),
            r.settings.eval.min_class_size
        );
    } else if any_unsupported {
        let nn = r.attacks[0].evaluation.n_non_members;
        let _ = writeln!(
            h,
            "<p class=\"footnote\">† Not supported by the sample size: measuring TPR at a false-positive rate FPR needs at least \
             {}/FPR non-members, and this audit has {}. The value is shown for completeness but should not be read as evidence \
             either way.</p>",
            num(r.settings.eval.min_negatives_per_fpr, 3),
            fmt_int(nn)
        );
    }
    if !small && r.attacks.iter().any(|a| a.evaluation.auc.note.is_some() || a.evaluation.advantage.note.is_some()) {
        h.push_str("<p class=\"footnote\">* See the note on the value (hover) for how its interval was made, or why it has none.</p>\n");
    }
    h.push_str("<details><summary>What each attack does</summary>\n<ul class=\"plain small\">\n");
    for a in &r.attacks {
        let _ = write!(h, "<li><b>{}</b>: {}", escape(&a.name), escape(&a.description));
        if let Some(f) = &a.fitting {
            let _ =
                write!(h, " <span class=\"muted\">(fitted: {}, {} folds, seed {}", escape(&f.method), f.folds, f.seed);
            for n in &f.notes {
                let _ = write!(h, "; {}", escape(n));
            }
            h.push_str(")</span>");
        }
        h.push_str("</li>\n");
    }
    h.push_str("</ul>\n</details>\n</section>\n");
}

fn overfitting(h: &mut String, r: &Report) {
    let Some(o) = &r.overfitting else { return };
    let conf = pct(r.settings.eval.confidence);
    let _ = write!(
        h,
        "<section id=\"overfitting\">\n<h2>Overfitting</h2>\n<p class=\"small muted\">How differently the model treats the records it \
         was trained on: the gap attacks exploit. {conf} intervals (Clopper–Pearson for accuracy, Newcombe for its gap, normal for \
         mean loss and Welch for its gap).</p>\n<div class=\"table-wrap\"><table>\n<thead><tr><th></th><th class=\"num\">Members</th>\
         <th class=\"num\">Non-members</th><th class=\"num\">Gap</th></tr></thead>\n<tbody>\n"
    );
    if let (Some(m), Some(n)) = (&o.accuracy_members, &o.accuracy_non_members) {
        let _ = writeln!(
            h,
            "<tr><td>Accuracy</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            est_cell(m, pct),
            est_cell(n, pct),
            o.accuracy_gap.as_ref().map_or("—".into(), |g| format!(
                "{}<span class=\"ci\">members − non-members, {}</span>",
                pct(g.value),
                ci_with(g.ci, pct)
            ))
        );
    }
    let f = |x: f64| sig(x, 4);
    let _ = write!(
        h,
        "<tr><td>Mean loss</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}<span class=\"ci\">non-members − members, {}</span></td></tr>\n\
         </tbody></table></div>\n",
        est_cell(&o.mean_loss_members, f),
        est_cell(&o.mean_loss_non_members, f),
        f(o.loss_gap.value),
        ci_with(o.loss_gap.ci, f)
    );
    if o.accuracy_members.is_none() {
        h.push_str("<p class=\"footnote\">Accuracy needs full model outputs; only losses were given.</p>\n");
    }
    h.push_str("</section>\n");
}

/// A claimed DP guarantee next to every attack's ε lower bound at the claimed δ.
fn privacy(h: &mut String, r: &Report) {
    let Some(p) = &r.privacy else { return };
    let source = match &p.accountant {
        Some(a) => format!(
            "accounted by this tool for its DP-SGD fit ({} accountant: noise multiplier {}, sampling rate {}, {} steps, \
             clipping norm {}, {} training rows)",
            escape(&a.name),
            sig(a.noise_multiplier, 4),
            sig(a.sample_rate, 4),
            fmt_int(a.steps),
            sig(a.max_grad_norm, 4),
            fmt_int(a.training_rows as u64)
        ),
        None => "claimed for the model".into(),
    };
    let verdict = if p.claim_violated {
        "<p class=\"fired\"><strong>Claim violated:</strong> an attack's ε lower bound exceeds the claimed ε, so the model \
         is not as private as claimed (a broken DP implementation or accounting).</p>"
    } else {
        "<p class=\"small\">No attack's lower bound exceeds the claim. That is consistent with the claim, not evidence \
         for it: these attacks are far from the strongest possible at this sample size.</p>"
    };
    let _ = write!(
        h,
        "<section id=\"privacy\">\n<h2>Differential privacy: claimed vs measured</h2>\n<p class=\"small\">Guarantee \
         (ε = {}, δ = {}), {source}. Each attack's empirical lower bound on ε at the same δ: at {} confidence, and at {} \
         (Bonferroni over the {} attacks) for the decision.</p>\n{verdict}\n<div class=\"table-wrap\"><table>\n<thead><tr>\
         <th>Attack</th><th class=\"num\">ε lower bound</th><th class=\"num\">for the decision</th><th>Above the claim</th>\
         </tr></thead>\n<tbody>\n",
        sig(p.claimed_epsilon, 4),
        sci(p.claimed_delta, 1),
        pct(p.confidence),
        pct(p.decision_confidence),
        p.attacks.len()
    );
    for a in &p.attacks {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&a.attack),
            fixed(a.eps_lower_bound, 3),
            fixed(a.eps_lower_bound_for_decision, 3),
            if a.exceeds_claim { "<strong>yes</strong>" } else { "no" }
        );
    }
    h.push_str("</tbody></table></div>\n</section>\n");
}

/// The one-run audit: the headline bound, how it was reached, and each attack's best grid point.
fn one_run(h: &mut String, r: &Report) {
    let Some(o) = &r.one_run else { return };
    let headline = match &o.attack {
        Some(a) => format!(
            "<strong>ε ≥ {}</strong> at δ = {}, {} confidence: {} guessed {} of {} canaries ({} IN, {} OUT) and was right \
             {} times.",
            fixed(o.epsilon_lower_bound, 3),
            sci(o.delta, 1),
            pct(o.confidence),
            escape(a),
            fmt_int(o.guesses as u64),
            fmt_int(o.canaries as u64),
            fmt_int(o.k_plus as u64),
            fmt_int(o.k_minus as u64),
            fmt_int(o.correct as u64)
        ),
        None => format!(
            "<strong>No lower bound above 0</strong> at δ = {}, {} confidence: no attack guessed the coins well enough.",
            sci(o.delta, 1),
            pct(o.confidence)
        ),
    };
    let excluded = if o.excluded_attacks.is_empty() {
        String::new()
    } else {
        format!(
            " Left out, as fitted on the coins: {}.",
            o.excluded_attacks.iter().map(|a| escape(a)).collect::<Vec<_>>().join(", ")
        )
    };
    let _ = write!(
        h,
        "<section id=\"one-run\">\n<h2>One-run audit</h2>\n<p>{headline}</p>\n<p class=\"small\">One training run in which \
         each of the {} canaries was included by a fair coin ({} were). {} {} tests (attacks × grid) at confidence 1 − {} each, \
         Bonferroni.{excluded} A lower bound, not the model's ε: a weak attack gives a small one.</p>\n\
         <div class=\"table-wrap\"><table>\n<thead><tr><th>Attack</th><th class=\"num\">k₊</th><th class=\"num\">k₋</th>\
         <th class=\"num\">Right</th><th class=\"num\">ε lower bound</th></tr></thead>\n<tbody>\n",
        fmt_int(o.canaries as u64),
        fmt_int(o.included as u64),
        escape(&o.rule),
        o.tests,
        sci(1.0 - o.per_test_confidence, 1)
    );
    for a in &o.attacks {
        let b = &a.audit;
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} of {}</td>\
             <td class=\"num\">{}</td></tr>",
            escape(&a.attack),
            fmt_int(b.k_plus as u64),
            fmt_int(b.k_minus as u64),
            fmt_int(b.correct as u64),
            fmt_int(b.guesses as u64),
            fixed(b.epsilon_lower_bound, 3)
        );
    }
    h.push_str("</tbody></table></div>\n</section>\n");
}

/// The comparison with an earlier report: every compared figure, old, new and the difference.
fn baseline(h: &mut String, r: &Report) {
    let Some(b) = &r.baseline else { return };
    let how = match b.shared_records {
        Some(n) => format!("paired bootstrap over the {} records both audits scored", fmt_int(n as u64)),
        None => "the two reports' intervals, treated as independent (conservative)".into(),
    };
    let warning = if b.comparable {
        String::new()
    } else {
        "<p class=\"fired\"><strong>Not comparable:</strong> the reports differ in schema or record set (see the notes); \
         the figures are listed, not compared, and gate rules over them stop.</p>\n"
            .into()
    };
    let _ = write!(
        h,
        "<section id=\"baseline\">\n<h2>Compared with the baseline</h2>\n<p class=\"small\">Baseline <code>{}</code> (schema \
         {}). Differences are new − old; intervals from the {how}.</p>\n{warning}<div class=\"table-wrap\"><table>\n\
         <thead><tr><th>Attack</th><th>Metric</th><th class=\"num\">Old</th><th class=\"num\">New</th>\
         <th class=\"num\">Difference</th><th class=\"num\">Interval</th></tr></thead>\n<tbody>\n",
        escape(&b.source),
        escape(&b.schema_version)
    );
    for a in &b.attacks {
        for m in &a.metrics {
            let ci = m.ci.map_or("—".to_string(), |[lo, hi]| format!("[{:+.4}, {:+.4}]", lo, hi));
            // Grey where the sample cannot support the figure; marked where leakage grew beyond noise.
            let (row, cell) = if !m.supported {
                ("", "num unsupported")
            } else if m.ci.is_some_and(|[lo, _]| lo > 0.0) {
                (" class=\"fired\"", "num")
            } else {
                ("", "num")
            };
            let _ = writeln!(
                h,
                "<tr{row}><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"{cell}\">{:+.4}</td><td class=\"{cell}\">{ci}</td></tr>",
                escape(&a.name),
                escape(&m.metric),
                fixed(m.old, 4),
                fixed(m.new, 4),
                m.delta
            );
        }
    }
    h.push_str("</tbody></table></div>\n<ul class=\"small\">\n");
    for n in &b.notes {
        let _ = writeln!(h, "<li>{}</li>", escape(n));
    }
    h.push_str("</ul>\n</section>\n");
}

/// The FPR target nearest 1 % among a setting's (what the comparison plots).
fn tpr_near_one_percent(s: &ComparisonSetting) -> Option<&WorstTpr> {
    s.max
        .tpr_at_fpr
        .iter()
        .min_by(|a, b| (a.fpr.ln() - 0.01f64.ln()).abs().total_cmp(&(b.fpr.ln() - 0.01f64.ln()).abs()))
}

/// One scatter plot of the comparison: held-out accuracy (y) against `x` per setting.
fn comparison_plot(h: &mut String, id: &str, x_label: &str, points: &[(String, f64, f64)]) {
    let (w, hh, x0, y0, size_x, size_y) = (360.0, 280.0, 56.0, 14.0, 284.0, 216.0);
    let finite = || points.iter().filter(|p| p.1.is_finite() && p.2.is_finite());
    let x_max = finite().map(|p| p.1).fold(0.0f64, f64::max).max(1e-9) * 1.1;
    let (y_lo, y_hi) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.2), hi.max(p.2)));
    let (y_lo, y_hi) = if y_lo.is_finite() { ((y_lo - 0.05).max(0.0), (y_hi + 0.05).min(1.0)) } else { (0.0, 1.0) };
    let sx = |v: f64| x0 + v / x_max * size_x;
    let sy = |v: f64| y0 + size_y - (v - y_lo) / (y_hi - y_lo).max(1e-9) * size_y;
    let _ = writeln!(
        h,
        "<svg id=\"{id}\" width=\"{w}\" height=\"{hh}\" viewBox=\"0 0 {w} {hh}\" role=\"img\" \
         aria-label=\"held-out accuracy against {}\">\n<rect class=\"frame\" x=\"{x0}\" y=\"{y0}\" width=\"{size_x}\" \
         height=\"{size_y}\" fill=\"none\" stroke=\"#c9ced6\"/>\n<text class=\"tick\" x=\"{x0}\" y=\"{:.1}\" \
         text-anchor=\"middle\">0</text><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
         <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><text class=\"tick\" x=\"{:.1}\" \
         y=\"{:.1}\" text-anchor=\"end\">{}</text>\n<text class=\"axis-label\" x=\"{:.1}\" y=\"{:.1}\" \
         text-anchor=\"middle\">{}</text><text class=\"axis-label\" transform=\"rotate(-90)\" x=\"{:.1}\" y=\"14\" \
         text-anchor=\"middle\">held-out accuracy</text>",
        escape(x_label),
        y0 + size_y + 16.0,
        x0 + size_x,
        y0 + size_y + 16.0,
        num(x_max, 3),
        x0 - 6.0,
        y0 + size_y,
        fixed(y_lo, 2),
        x0 - 6.0,
        y0 + 8.0,
        fixed(y_hi, 2),
        x0 + size_x / 2.0,
        y0 + size_y + 36.0,
        escape(x_label),
        -(y0 + size_y / 2.0),
    );
    let line: Vec<String> = finite().map(|p| format!("{:.2},{:.2}", sx(p.1), sy(p.2))).collect();
    let _ = writeln!(
        h,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#9aa1ab\" stroke-dasharray=\"3 3\"/>",
        line.join(" ")
    );
    for p in finite() {
        let (x, y) = (sx(p.1), sy(p.2));
        let _ = writeln!(
            h,
            "<circle class=\"setting\" data-setting=\"{label}\" cx=\"{x:.2}\" cy=\"{y:.2}\" r=\"5\" fill=\"#2f6db3\"/>\
             <text class=\"tick\" x=\"{:.2}\" y=\"{:.2}\">{label}</text>",
            x + 7.0,
            y - 7.0,
            label = escape(&p.0),
        );
    }
    h.push_str("</svg>\n");
}

/// The privacy–utility comparison: per DP setting, what it cost in accuracy and what the
/// attacks still see, as a table and two plots.
fn comparison(h: &mut String, r: &Report) {
    let Some(c) = &r.comparison else { return };
    let fpr = c.settings.first().and_then(tpr_near_one_percent).map_or(0.01, |t| t.fpr);
    let _ = write!(
        h,
        "<section id=\"comparison\">\n<h2>Privacy–utility comparison</h2>\n<p class=\"small\">The same audit per DP-SGD \
         setting: same data, plan and seeds, each setting its own target and reference models. ε lower bounds are \
         empirical (what the attacks show), the accounted ε is the guarantee; a setting that passes is evidence at this \
         sample size, not proof.</p>\n<div class=\"table-wrap\"><table>\n<thead><tr><th>Setting</th>\
         <th class=\"num\">Accounted ε</th><th class=\"num\">Noise σ</th><th class=\"num\">Held-out accuracy</th>\
         <th class=\"num\">Train − held-out</th><th class=\"num\">Highest AUC</th><th class=\"num\">Highest TPR at \
         {} FPR</th><th class=\"num\">Highest ε lower bound</th><th class=\"num\">One-run ε bound</th></tr></thead>\n<tbody>\n",
        fpr_label(fpr)
    );
    let opt = |x: Option<f64>, d: usize| x.map_or("—".to_string(), |v| sig(v, d));
    for s in &c.settings {
        let tpr = s.max.tpr_at_fpr.iter().find(|t| t.fpr == fpr);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{} ({})</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            escape(&s.setting),
            opt(s.claimed_epsilon, 4),
            opt(s.noise_multiplier, 4),
            est_cell(&s.held_out_accuracy, pct),
            fixed(s.generalization_gap, 3),
            fixed(s.max.auc.value, 3),
            escape(&s.max.auc.attack),
            tpr.map_or("—".to_string(), |t| {
                let mark =
                    if t.supported { "" } else { "<sup title=\"too few non-members to measure this FPR\">†</sup>" };
                format!("{}{mark} ({})", fixed(t.tpr, 4), escape(&t.attack))
            }),
            fixed(s.max.eps_lower_bound.value, 3),
            s.one_run_epsilon_lower_bound.map_or("—".to_string(), |e| fixed(e, 3))
        );
    }
    h.push_str("</tbody></table></div>\n<div class=\"figure-row\">\n");
    let acc = |s: &ComparisonSetting| s.held_out_accuracy.value;
    let by_tpr: Vec<(String, f64, f64)> = c
        .settings
        .iter()
        .map(|s| {
            (s.setting.clone(), s.max.tpr_at_fpr.iter().find(|t| t.fpr == fpr).map_or(f64::NAN, |t| t.tpr), acc(s))
        })
        .collect();
    comparison_plot(h, "comparison-tpr", &format!("highest TPR at {} FPR", fpr_label(fpr)), &by_tpr);
    let by_eps: Vec<(String, f64, f64)> =
        c.settings.iter().map(|s| (s.setting.clone(), s.max.eps_lower_bound.value, acc(s))).collect();
    comparison_plot(h, "comparison-eps", "highest ε lower bound", &by_eps);
    h.push_str("</div>\n</section>\n");
}

/// The models of a model audit: learner, plan sizes, and each model's fit.
fn models(h: &mut String, r: &Report) {
    let Some(m) = &r.models else { return };
    let learner = serde_json::to_string(&m.learner).unwrap_or_default();
    let _ = write!(
        h,
        "<section id=\"models\">\n<h2>Models</h2>\n<p class=\"small\">Learner <code>{}</code> on {} encoded features, {} classes. \
         Target trained on {} ({}); {} audit records, {} held-out population records, {} reference models \
         (each audit record in the training set of exactly half of them).</p>\n\
         <div class=\"table-wrap\"><table>\n<thead><tr><th>Model</th><th class=\"num\">Training rows</th>\
         <th class=\"num\">Training accuracy</th><th class=\"num\">Held-out rows</th><th class=\"num\">Held-out accuracy</th>\
         </tr></thead>\n<tbody>\n",
        escape(&learner),
        fmt_int(m.features as u64),
        m.classes,
        fmt_int(m.target.train_rows as u64),
        if m.target_training == "train" {
            "a seeded random share of the audit records"
        } else {
            "the rows the data flags as members"
        },
        fmt_int(m.audit_records as u64),
        fmt_int(m.population_records as u64),
        m.reference_models
    );
    let row = |h: &mut String, name: &str, f: &crate::report::ModelFit| {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(name),
            fmt_int(f.train_rows as u64),
            est_cell(&f.train_accuracy, pct),
            fmt_int(f.held_out_rows as u64),
            est_cell(&f.held_out_accuracy, pct)
        );
    };
    row(h, "target", &m.target);
    for (k, f) in m.references.iter().enumerate() {
        row(h, &format!("reference {}", k + 1), f);
    }
    h.push_str("</tbody></table></div>\n</section>\n");
}

/// The synthetic-data section (`mia synth`): the split, each synthetic table's distance
/// summary and the shadow-generator targets. Values come from JSON owned by `mia-synth`, so
/// missing fields show as a dash instead of failing.
fn synthetic(h: &mut String, r: &Report) {
    let Some(s) = &r.synth else { return };
    let f = |v: &serde_json::Value| v.as_f64().map_or("–".to_string(), |x| num(x, 4));
    let u = |v: &serde_json::Value| v.as_u64().map_or("–".to_string(), fmt_int);
    let generator = s.generator.as_ref().map(|g| serde_json::to_string(g).unwrap_or_default());
    let _ = write!(
        h,
        "<section id=\"synthetic\">\n<h2>Synthetic data</h2>\n<p class=\"small\">{} members (the generator's training \
         records), {} scored holdout records and {} reference records (real non-members the attacks learn from, never \
         scored).{}</p>\n",
        fmt_int(s.members as u64),
        fmt_int(s.holdout as u64),
        fmt_int(s.reference as u64),
        generator.map_or(String::new(), |g| format!(" Generator run by the tool: <code>{}</code>.", escape(&g)))
    );
    for (t, d) in s.synthetic.iter().zip(&s.distances) {
        let c = &d["closeness"];
        let e = &d["exact_copies"];
        let _ = write!(
            h,
            "<h3>{} <span class=\"muted small\">{} rows · {}</span></h3>\n<p class=\"small\">Exact copies: {} members and {} \
             holdout records appear verbatim in the synthetic table. Share of synthetic rows nearer to a member than to a \
             holdout record (equal-sized sets; 0.5 = no preference): {} [{}, {}].</p>\n",
            escape(&t.name),
            fmt_int(t.rows as u64),
            escape(&t.source),
            u(&e["members_in_synthetic"]),
            u(&e["holdout_in_synthetic"]),
            f(&c["share"]),
            f(&c["interval"][0]),
            f(&c["interval"][1])
        );
        h.push_str("<div class=\"table-wrap\"><table>\n<thead><tr><th>Distance to closest record</th>");
        let quantiles = d["members_to_synthetic"].as_array().cloned().unwrap_or_default();
        for q in &quantiles {
            let _ = write!(h, "<th class=\"num\">q{}</th>", f(&q["q"]));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for (label, key) in [
            ("members → synthetic", "members_to_synthetic"),
            ("holdout → synthetic", "holdout_to_synthetic"),
            ("synthetic → members", "synthetic_to_members"),
        ] {
            let _ = write!(h, "<tr><td>{label}</td>");
            for q in d[key].as_array().cloned().unwrap_or_default() {
                let _ = write!(h, "<td class=\"num\">{}</td>", f(&q["value"]));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody></table></div>\n");
    }
    if let Some(shadow) = &s.shadow {
        for res in shadow["results"].as_array().cloned().unwrap_or_default() {
            let auc = &res["evaluation"]["auc"];
            let _ = write!(
                h,
                "<h3>Shadow generators · {}</h3>\n<p class=\"small\">{} shadow training sets of {} records per target, \
                 half containing it; a classifier learns in/out from each shadow synthetic table's features and scores \
                 the released table. Held-out accuracy near 0.5 means the attack learned nothing for that record. AUC \
                 over the targets: {} [{}, {}].</p>\n<div class=\"table-wrap\"><table>\n<thead><tr><th>Target</th>\
                 <th>Member</th><th class=\"num\">Score (log-odds)</th><th class=\"num\">Held-out accuracy</th>\
                 <th class=\"num\">Held-out AUC</th></tr></thead>\n<tbody>\n",
                escape(res["synthetic"].as_str().unwrap_or("")),
                u(&res["n_shadow"]),
                u(&res["train_size"]),
                f(&auc["value"]),
                f(&auc["ci"][0]),
                f(&auc["ci"][1])
            );
            let members = res["member"].as_array().cloned().unwrap_or_default();
            for (i, t) in res["targets"].as_array().cloned().unwrap_or_default().iter().enumerate() {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{} [{}, {}]</td><td class=\"num\">{}</td></tr>",
                    escape(t["id"].as_str().unwrap_or("")),
                    if members.get(i).and_then(|m| m.as_bool()).unwrap_or(false) { "yes" } else { "no" },
                    f(&t["score"]),
                    f(&t["heldout_accuracy"]),
                    f(&t["heldout_accuracy_ci"][0]),
                    f(&t["heldout_accuracy_ci"][1]),
                    f(&t["heldout_auc"])
                );
            }
            h.push_str("</tbody></table></div>\n");
        }
    }
    h.push_str("</section>\n");
}

fn slices(h: &mut String, r: &Report) {
    if r.slices.is_empty() {
        return;
    }
    let alpha = 1.0 - r.settings.eval.confidence;
    let evaluated = r.slices.iter().filter(|s| s.evaluation.is_some()).count();
    let leaking: Vec<_> = r.slices.iter().filter(|s| s.evaluation.as_ref().is_some_and(|e| e.leaks)).collect();
    let _ = write!(
        h,
        "<section id=\"slices\">\n<h2>Per-class slices</h2>\n<details>\n<summary>{} of {} evaluated (attack, class) slices leak \
         (Holm-adjusted p &lt; {})</summary>\n",
        leaking.len(),
        evaluated,
        num(alpha, 2)
    );
    if leaking.is_empty() {
        h.push_str("<p class=\"muted\">No class shows significant leakage after Holm's correction.</p>\n");
    } else {
        h.push_str(
            "<div class=\"table-wrap\"><table>\n<thead><tr><th>Attack</th><th class=\"num\">Class</th><th class=\"num\">Members</th>\
             <th class=\"num\">Non-members</th><th class=\"num\">AUC</th><th class=\"num\">Advantage</th><th class=\"num\">p</th>\
             <th class=\"num\">p (Holm)</th></tr></thead>\n<tbody>\n",
        );
        for s in &leaking {
            let e = s.evaluation.as_ref().expect("filtered");
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&s.attack),
                s.class,
                fmt_int(e.n_members),
                fmt_int(e.n_non_members),
                est_cell(&e.auc, |x| fixed(x, 3)),
                est_cell(&e.advantage, |x| fixed(x, 3)),
                p_value(e.p_value),
                p_value(e.p_holm)
            );
        }
        h.push_str("</tbody></table></div>\n");
    }
    let skipped: Vec<_> = r.slices.iter().filter(|s| s.evaluation.is_none()).collect();
    if !skipped.is_empty() {
        let _ = write!(h, "<p class=\"footnote\">{} slices could not be evaluated: ", skipped.len());
        let parts: Vec<String> = skipped
            .iter()
            .take(20)
            .map(|s| {
                format!(
                    "{} class {}: {}",
                    escape(&s.attack),
                    s.class,
                    escape(s.note.as_deref().unwrap_or("no reason given"))
                )
            })
            .collect();
        h.push_str(&parts.join("; "));
        h.push_str(if skipped.len() > 20 { "; …</p>\n" } else { ".</p>\n" });
    }
    h.push_str("</details>\n</section>\n");
}

fn exposed(h: &mut String, r: &Report, rec: &RecordScores, top_n: usize) {
    h.push_str("<section id=\"exposed\">\n<h2>Most exposed records</h2>\n");
    let name = r.max.auc.attack.as_str();
    let Some((name, scores)) =
        rec.attacks.iter().find(|(n, _)| n == name).or_else(|| rec.attacks.first()).map(|(n, s)| (n.as_str(), s))
    else {
        h.push_str("<p class=\"muted\">No per-record scores.</p>\n</section>\n");
        return;
    };
    let n = scores.len().min(rec.ids.len()).min(rec.member.len());
    let ranks = descending_ranks(&scores[..n]);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.truncate(top_n);
    let members_in_top = order.iter().filter(|&&i| rec.member[i]).count();
    let members_all = rec.member[..n].iter().filter(|&&m| m).count();
    let _ = writeln!(
        h,
        "<p class=\"small\">The {} records that the <b>{}</b> attack (highest AUC) finds most member-like. \
         {} of them are members; members are {} of all records. Ids only: no feature values are shown.</p>",
        order.len(),
        escape(name),
        members_in_top,
        pct(if n > 0 { members_all as f64 / n as f64 } else { f64::NAN })
    );
    if order.is_empty() {
        h.push_str("</section>\n");
        return;
    }
    h.push_str(
        "<div class=\"table-wrap\"><table class=\"records\">\n<thead><tr><th class=\"num\">Rank</th><th>Record id</th><th>Member</th>\
         <th class=\"num\">Score</th></tr></thead>\n<tbody>\n",
    );
    for &i in &order {
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td></tr>",
            ranks[i],
            escape(&rec.ids[i]),
            if rec.member[i] { "<span class=\"yes\">yes</span>" } else { "no" },
            sig(scores[i], 4)
        );
    }
    h.push_str("</tbody></table></div>\n</section>\n");
}

/// One text's tokens for the page's per-token exposure: positions and log-probabilities only,
/// never the text (a report is shared; the texts are the data it protects).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenExposure {
    pub id: String,
    pub member: bool,
    /// The ranking attack's score.
    pub score: f64,
    pub logprobs: Vec<f64>,
    /// Positions of the tokens Min-K% averages (the text's lowest ⌊k·n⌋), ascending by log p.
    pub lowest: Vec<usize>,
    /// Target minus reference log-probability per token, when a reference was given.
    pub reference_gap: Option<Vec<f64>>,
}

/// Tokens drawn per text; a longer text shows its first ones.
const TOKENS_DRAWN: usize = 512;
/// Widest bar of a short text, in pixels.
const BAR_MAX: f64 = 14.0;

/// The blind check: its classifiers, verdict, and every attack set against it.
fn blind(h: &mut String, r: &Report) {
    let Some(b) = &r.blind else { return };
    let class = if b.distinguishable { "fired" } else { "small" };
    let _ = write!(
        h,
        "<section id=\"blind\">\n<h2>Blind check: members and non-members told apart without the model</h2>\n\
         <p class=\"small muted\">A classifier that reads only the {} (never the model), cross-fitted, tries to tell \
         members from non-members. If it can, the two samples differ in distribution and an attack's figure measures the \
         split as much as the model (Das, Zhang &amp; Tramèr 2024).</p>\n<p class=\"{class}\">{}</p>\n\
         <div class=\"table-wrap\"><table>\n<thead><tr><th>Blind classifier</th><th class=\"num\">AUC</th>",
        escape(&b.data),
        escape(&b.verdict)
    );
    let targets: Vec<f64> = b.tpr_at_fpr.iter().map(|t| t.fpr).collect();
    for &t in &targets {
        let _ = write!(h, "<th class=\"num\">TPR %<br>@ FPR {}</th>", fpr_label(t));
    }
    h.push_str("<th>Features</th></tr></thead>\n<tbody>\n");
    for c in &b.classifiers {
        let e = &c.evaluation;
        let _ = write!(
            h,
            "<tr><td class=\"name\">{}</td><td class=\"num\">{}</td>",
            escape(&c.name),
            est_cell(&e.auc, |x| fixed(x, 3))
        );
        for t in &e.tpr_at_fpr {
            if t.supported {
                let _ = write!(h, "<td class=\"num\">{}</td>", cell(pct_num(t.tpr), t.ci, pct_num));
            } else {
                let _ = write!(
                    h,
                    "<td class=\"num unsupported\" title=\"not supported by the sample size\">{}<sup>†</sup><span class=\"ci\">{}</span></td>",
                    pct_num(t.tpr),
                    ci_with(t.ci, pct_num)
                );
            }
        }
        let _ = writeln!(h, "<td class=\"small\">{}</td></tr>", escape(&c.description));
    }
    h.push_str("</tbody></table></div>\n");
    if !b.attacks.is_empty() {
        let _ = write!(
            h,
            "<div class=\"table-wrap\"><table>\n<thead><tr><th>Attack</th><th class=\"num\">AUC</th><th class=\"num\">Blind AUC</th>\
             <th class=\"num\">Difference<br>[{} paired bootstrap]</th><th>Beats the blind classifier</th></tr></thead>\n<tbody>\n",
            pct(r.settings.eval.confidence)
        );
        for a in &b.attacks {
            let _ = writeln!(
                h,
                "<tr><td class=\"name\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&a.attack),
                fixed(a.auc, 3),
                fixed(a.blind_auc, 3),
                cell(format!("{:+.3}", a.difference), a.ci, |x| format!("{x:+.3}")),
                if a.beats_blind { "yes" } else { "<strong class=\"warn\">no</strong>" }
            );
        }
        h.push_str("</tbody></table></div>\n");
    }
    h.push_str("</section>\n");
}

/// Per-token exposure: for each of the most exposed texts, a bar per token (taller = less
/// likely under the model), the Min-K% tokens marked, and those tokens listed.
fn token_exposure(h: &mut String, r: &Report, texts: &[TokenExposure]) {
    if texts.is_empty() {
        return;
    }
    // One scale for every text: the largest surprise shown, in whole nats.
    let top = texts
        .iter()
        .flat_map(|t| t.logprobs.iter().take(TOKENS_DRAWN))
        .fold(1.0_f64, |m, &lp| if lp.is_finite() { m.max(-lp) } else { m })
        .ceil();
    let _ = write!(
        h,
        "<section id=\"tokens\">\n<h2>Per-token exposure of the most exposed texts</h2>\n<p class=\"small muted\">The {} texts \
         the <b>{}</b> attack finds most member-like. One bar per token, its height the token's surprise −log p (the same scale \
         for every text: full height is {} nats); orange bars are the lowest-probability tokens Min-K% averages. A member's \
         text tends to have few tall bars. The texts themselves are not shown: positions refer to the tokens of each text in \
         the input file.</p>\n",
        texts.len(),
        escape(&r.max.auc.attack),
        num(top, 3)
    );
    for t in texts {
        let n = t.logprobs.len();
        let shown = n.min(TOKENS_DRAWN);
        let (w, height) = (900.0, 60.0);
        let bar = (w / shown.max(1) as f64).min(BAR_MAX);
        let lowest: std::collections::HashSet<usize> = t.lowest.iter().copied().collect();
        let _ = write!(
            h,
            "<figure class=\"tokens\"><figcaption><code>{}</code> · {} · score {} · {} tokens{}</figcaption>\n\
             <svg viewBox=\"0 0 {w} {height}\" width=\"{w}\" height=\"{height}\" role=\"img\" aria-label=\"token surprise\">",
            escape(&t.id),
            if t.member { "<span class=\"yes\">member</span>" } else { "non-member" },
            sig(t.score, 4),
            fmt_int(n as u64),
            if shown < n { format!(" (first {shown} drawn)") } else { String::new() }
        );
        for (k, lp) in t.logprobs.iter().take(shown).enumerate() {
            let s = (-lp).clamp(0.0, top);
            let bh = (s / top * (height - 2.0)).max(0.5);
            let fill = if lowest.contains(&k) { NON_MEMBER_COLOUR } else { MEMBER_COLOUR };
            let _ = write!(
                h,
                "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{bh:.2}\" fill=\"{fill}\"><title>token {k}: log p = {}</title></rect>",
                k as f64 * bar,
                height - bh,
                (bar * 0.9).max(0.5),
                sig(*lp, 4)
            );
        }
        h.push_str("</svg>\n");
        let listed: Vec<String> = t
            .lowest
            .iter()
            .take(10)
            .map(|&k| {
                let gap = t
                    .reference_gap
                    .as_ref()
                    .map_or(String::new(), |g| format!(", target − reference {}", sig(g[k], 3)));
                format!("token {k} (log p {}{gap})", sig(t.logprobs[k], 3))
            })
            .collect();
        let _ = writeln!(
            h,
            "<p class=\"small\">Lowest-probability tokens: {}{}</p></figure>",
            listed.join(", "),
            if t.lowest.len() > 10 { format!(", … ({} in all)", t.lowest.len()) } else { String::new() }
        );
    }
    h.push_str("</section>\n");
}

fn caveats(h: &mut String, r: &Report) {
    h.push_str("<section id=\"caveats\">\n<h2>Caveats and notes</h2>\n");
    for (title, list) in [("Caveats", &r.caveats), ("Notes", &r.notes)] {
        let _ = writeln!(h, "<h3>{title}</h3>");
        if list.is_empty() {
            h.push_str("<p class=\"muted small\">None.</p>\n");
        } else {
            h.push_str("<ul class=\"plain\">\n");
            for c in list {
                let _ = writeln!(h, "<li>{}</li>", escape(c));
            }
            h.push_str("</ul>\n");
        }
    }
    h.push_str(
        "<p class=\"footnote\">Reading the numbers: AUC 0.5 and advantage 0 mean the attack does no better than a coin flip; \
         the low-FPR rows matter most, because an attacker who is confident about a few records is the realistic threat. \
         An audit shows leakage that exists; a low reading does not prove that no stronger attack exists.</p>\n</section>\n",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>alert('1')&\"</script>"),
            "&lt;script&gt;alert(&#39;1&#39;)&amp;&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn number_formats() {
        assert_eq!(sig(0.012345, 3), "0.0123");
        assert_eq!(sig(12.345, 3), "12.3");
        assert_eq!(sig(1234.5, 3), "1234");
        assert_eq!(sig(0.0001234, 3), "1.23e-4");
        assert_eq!(sig(f64::NAN, 3), "—");
        assert_eq!(sci(1e-3, 2), "1e-3");
        assert_eq!(sci(2.5e-4, 2), "2.5e-4");
        assert_eq!(pct(0.124), format!("12.4{NNBSP}%"));
        assert_eq!(pct(0.001), format!("0.1{NNBSP}%"));
        assert_eq!(pct(0.12), format!("12{NNBSP}%"));
        assert_eq!(pct(1.234e-6), format!("1.23e-4{NNBSP}%"));
        assert_eq!(pct(1.0), format!("100{NNBSP}%"));
        assert_eq!(pct(0.0), format!("0{NNBSP}%"));
        assert_eq!(fpr_label(1e-5), "1e-5");
        assert_eq!(fpr_label(0.1), format!("10{NNBSP}%"));
        assert_eq!(p_value(0.0), "< 1e-300");
        assert_eq!(p_value(3.2e-12), "3.2e-12");
        assert_eq!(p_value(0.25), "0.250");
        assert_eq!(fmt_int(1234567u64), "1,234,567");
        assert_eq!(fmt_int(12u64), "12");
    }

    #[test]
    fn log_axes_clamp_to_the_floor() {
        let ax = LogAxes { floor_exp: -4, x0: 0.0, y0: 0.0, size: 400.0 };
        assert_eq!(ax.x(0.0), 0.0);
        assert_eq!(ax.x(1e-4), 0.0);
        assert_eq!(ax.x(1.0), 400.0);
        assert!((ax.x(1e-2) - 200.0).abs() < 1e-9);
        assert_eq!(ax.y(0.0), 400.0);
        assert_eq!(ax.y(1.0), 0.0);
    }
}
