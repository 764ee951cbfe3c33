//! `summary.md` and `index.html`: the same tables, notes and figures, as GitHub markdown and as
//! a page that opens from disk without a server.

use std::fmt::Write;

use crate::figures::Drawn;
use crate::load::Sweep;
use crate::record::{FINAL_WINDOW, Status};
use crate::table::{Cells, number};

/// What both documents show.
pub struct Contents<'a> {
    pub sweep: &'a Sweep,
    pub groups: Cells,
    pub variance: Cells,
    pub figures: &'a [Drawn],
    /// The sweep's best step reward: the yardstick of "generations to ½ best".
    pub best: Option<f64>,
}

impl Contents<'_> {
    fn counts(&self) -> String {
        let runs = &self.sweep.runs;
        let count = |s: Status| runs.iter().filter(|r| r.status == s).count();
        let mut text = format!(
            "{} runs: {} finished, {} diverged, {} failed",
            runs.len() + self.sweep.pending,
            count(Status::Done),
            count(Status::Diverged),
            count(Status::Failed)
        );
        if self.sweep.pending > 0 {
            write!(text, ", {} not run yet", self.sweep.pending).unwrap();
        }
        text
    }

    fn training_note(&self) -> String {
        format!(
            "Final reward: the mean reward of each run's last {FINAL_WINDOW} steps; mean ± sample \
             standard deviation over the finished seeds, and the 95 % Student-t interval of the \
             mean. Best: the highest step mean reward of any finished seed. Generations to ½ \
             best: the first generation count at which a step's mean reward reached half of the \
             sweep's best ({}), averaged over the seeds that got there (seeds/finished). Median \
             grad var: the probe's variance of the training estimator's one-batch gradient \
             (trace of its covariance), median over probes and seeds; × RLOO's: the median of \
             its ratio to RLOO's at the same probe, from the same samples.",
            self.best.map_or("none".into(), number)
        )
    }

    fn variance_note(&self) -> &'static str {
        "Every probe draws fresh batches at the run's current weights and computes every \
         estimator's gradient from the same samples, so the ratios are paired. Pooled over all \
         runs and probes; \"at the start\" is each run's first probe, at the starting weights."
    }

    /// Runs that diverged or failed, with why.
    fn incidents(&self) -> Vec<(String, &'static str, String)> {
        self.sweep
            .runs
            .iter()
            .filter(|r| r.status != Status::Done)
            .map(|r| {
                let status = if r.status == Status::Failed {
                    "failed"
                } else {
                    "diverged"
                };
                (r.id.clone(), status, r.reason.clone())
            })
            .collect()
    }
}

pub fn markdown(c: &Contents) -> String {
    let mut md = format!("# Sweep `{}`\n\n{}. ", c.sweep.name, c.counts());
    md += "Rebuilt from the CSV files by `pglab report <sweep directory>`; the numbers are in \
           `report.csv` and `variance.csv`.\n\n";
    md += "## Training: one row per estimator and grid point, over seeds\n\n";
    md += &markdown_table(&c.groups);
    writeln!(md, "\n{}\n", c.training_note()).unwrap();
    if !c.variance.rows.is_empty() {
        md += "## Gradient variance at the same weights (probe)\n\n";
        md += &markdown_table(&c.variance);
        writeln!(md, "\n{}\n", c.variance_note()).unwrap();
    }
    let incidents = c.incidents();
    if !incidents.is_empty() {
        md += "## Runs that did not finish\n\n";
        for (id, status, reason) in incidents {
            writeln!(md, "- `{id}`: {status}: {}", reason.replace('\n', " ")).unwrap();
        }
        md += "\n";
    }
    md += "## Figures\n\n";
    for figure in c.figures {
        match &figure.skipped {
            None => writeln!(
                md,
                "![{}](plots/{})\n\n{}\n",
                figure.file, figure.file, figure.caption
            ),
            Some(why) => writeln!(md, "- `{}` not drawn: {why}.\n", figure.file),
        }
        .unwrap();
    }
    md
}

fn markdown_table(cells: &Cells) -> String {
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut md = row(&cells.header);
    md += &format!("|{}\n", "---|".repeat(cells.header.len()));
    for r in &cells.rows {
        md += &row(r);
    }
    md
}

pub fn html(c: &Contents) -> String {
    let mut page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>pglab: {name}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <h1>Sweep <code>{name}</code></h1>\n<p>{counts}. Tables: <a href=\"summary.md\">summary.md</a>, \
         <a href=\"report.csv\">report.csv</a>, <a href=\"variance.csv\">variance.csv</a>, \
         <a href=\"summary.csv\">summary.csv</a> (one row per run).</p>\n",
        name = escape(&c.sweep.name),
        counts = escape(&c.counts()),
    );
    page += "<h2>Training: one row per estimator and grid point, over seeds</h2>\n";
    page += &html_table(&c.groups);
    writeln!(page, "<p class=\"note\">{}</p>", escape(&c.training_note())).unwrap();
    if !c.variance.rows.is_empty() {
        page += "<h2>Gradient variance at the same weights (probe)</h2>\n";
        page += &html_table(&c.variance);
        writeln!(page, "<p class=\"note\">{}</p>", escape(c.variance_note())).unwrap();
    }
    let incidents = c.incidents();
    if !incidents.is_empty() {
        page += "<h2>Runs that did not finish</h2>\n<ul>\n";
        for (id, status, reason) in incidents {
            writeln!(
                page,
                "<li><code>{}</code>: {status}: {}</li>",
                escape(&id),
                escape(&reason)
            )
            .unwrap();
        }
        page += "</ul>\n";
    }
    page += "<h2>Figures</h2>\n";
    for figure in c.figures {
        match &figure.skipped {
            None => writeln!(
                page,
                "<figure><a href=\"plots/{f}\"><img src=\"plots/{f}\" alt=\"{f}\"></a>\
                 <figcaption>{}</figcaption></figure>",
                escape(figure.caption),
                f = figure.file
            ),
            Some(why) => writeln!(
                page,
                "<p><code>{}</code> not drawn: {}.</p>",
                figure.file,
                escape(why)
            ),
        }
        .unwrap();
    }
    page += "</body>\n</html>\n";
    page
}

const STYLE: &str = "body { font-family: sans-serif; max-width: 1400px; margin: 2em auto; \
padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.95em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
.note { color: #555; font-size: 0.9em; max-width: 75em; }
figure { margin: 2em 0; }
img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #444; margin-top: 0.4em; }
";

fn html_table(cells: &Cells) -> String {
    let row = |tag: &str, cells: &[String]| {
        let cells: Vec<String> = cells
            .iter()
            .map(|c| format!("<{tag}>{}</{tag}>", escape(c)))
            .collect();
        format!("<tr>{}</tr>\n", cells.concat())
    };
    let mut html = format!(
        "<table>\n<thead>\n{}</thead>\n<tbody>\n",
        row("th", &cells.header)
    );
    for r in &cells.rows {
        html += &row("td", r);
    }
    html + "</tbody>\n</table>\n"
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
