//! Ruled tables on a PDF page: cells from the page's ruling lines, text placed into the cells by
//! position. PDF producers write table text column by column, so plain page text separates an
//! item's name from its points; rebuilding the grid keeps each row together.

use pdf_oxide::layout::TextSpan;

/// Positions closer than this (points) are one ruling line.
const SNAP: f32 = 2.0;
/// Segments thinner than this (points) are lines, not areas.
const THIN: f32 = 2.5;

/// A horizontal (`y` fixed) or vertical (`x` fixed) ruling segment, in page space (y up).
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    pub at: f32,
    pub from: f32,
    pub to: f32,
}

/// One table on a page: rows of cell texts, its top and bottom, and its column edges (to tell
/// whether a table on the next page continues it).
#[derive(Debug, Clone)]
pub struct Grid {
    pub rows: Vec<Vec<String>>,
    pub top: f32,
    pub bottom: f32,
    pub columns: Vec<f32>,
}

/// Horizontal and vertical ruling segments from the page's paths (strokes and thin filled
/// rectangles; rectangle outlines give their four edges).
pub fn segments(paths: &[pdf_oxide::elements::PathContent]) -> (Vec<Segment>, Vec<Segment>) {
    let mut horizontal = Vec::new();
    let mut vertical = Vec::new();
    for path in paths {
        let b = path.bbox;
        let (x0, x1, y0, y1) = (b.x, b.x + b.width, b.y, b.y + b.height);
        if b.height <= THIN && b.width > THIN {
            horizontal.push(Segment {
                at: (y0 + y1) / 2.0,
                from: x0,
                to: x1,
            });
        } else if b.width <= THIN && b.height > THIN {
            vertical.push(Segment {
                at: (x0 + x1) / 2.0,
                from: y0,
                to: y1,
            });
        } else if path.is_rectangle() && path.stroke_color.is_some() {
            horizontal.push(Segment {
                at: y0,
                from: x0,
                to: x1,
            });
            horizontal.push(Segment {
                at: y1,
                from: x0,
                to: x1,
            });
            vertical.push(Segment {
                at: x0,
                from: y0,
                to: y1,
            });
            vertical.push(Segment {
                at: x1,
                from: y0,
                to: y1,
            });
        }
    }
    (horizontal, vertical)
}

/// Sorted distinct positions, positions within [`SNAP`] merged.
fn distinct(mut values: Vec<f32>) -> Vec<f32> {
    values.sort_by(f32::total_cmp);
    let mut out: Vec<f32> = Vec::new();
    for v in values {
        match out.last() {
            Some(last) if v - *last <= SNAP => {}
            _ => out.push(v),
        }
    }
    out
}

fn covers(segments: &[Segment], at: f32, point: f32) -> bool {
    segments
        .iter()
        .any(|s| (s.at - at).abs() <= SNAP && s.from - SNAP <= point && point <= s.to + SNAP)
}

/// The tables ruled on a page, top to bottom, and for every span whether it lies in one of them.
pub fn tables(
    spans: &[TextSpan],
    horizontal: &[Segment],
    vertical: &[Segment],
) -> (Vec<Grid>, Vec<bool>) {
    let mut in_table = vec![false; spans.len()];
    let xs = distinct(vertical.iter().map(|s| s.at).collect());
    let ys = distinct(horizontal.iter().map(|s| s.at).collect());
    if xs.len() < 2 || ys.len() < 2 {
        return (Vec::new(), in_table);
    }
    // Bands top to bottom (PDF y grows upwards); a band is a table row where it has cells.
    let bands: Vec<(f32, f32)> = ys.windows(2).rev().map(|w| (w[1], w[0])).collect();
    let mut grids: Vec<Grid> = Vec::new();
    let mut current: Option<Grid> = None;
    for (top, bottom) in bands {
        let mid = (top + bottom) / 2.0;
        // Column edges that rule this band: vertical lines crossing its middle.
        let edges: Vec<f32> = xs
            .iter()
            .copied()
            .filter(|x| covers(vertical, *x, mid))
            .collect();
        if edges.len() < 2 || top - bottom < 4.0 {
            if let Some(grid) = current.take() {
                grids.push(grid);
            }
            continue;
        }
        let mut row = Vec::with_capacity(edges.len() - 1);
        for cell in edges.windows(2) {
            let (left, right) = (cell[0], cell[1]);
            // A cell spans down to the next horizontal line that crosses its middle; its text
            // belongs to the band it starts in (merged cells appear once, in their first row).
            let centre = (left + right) / 2.0;
            let starts_here = covers(horizontal, top, centre);
            let cell_bottom = ys
                .iter()
                .rev()
                .copied()
                .find(|y| *y < top - SNAP && covers(horizontal, *y, centre))
                .unwrap_or(bottom);
            if !starts_here {
                row.push(String::new());
                continue;
            }
            row.push(cell_text(
                spans,
                &mut in_table,
                left,
                right,
                top,
                cell_bottom,
            ));
        }
        let grid = current.get_or_insert_with(|| Grid {
            rows: Vec::new(),
            top,
            bottom,
            columns: edges.clone(),
        });
        grid.bottom = bottom;
        if row.iter().any(|c| !c.is_empty()) {
            grid.rows.push(row);
        }
    }
    if let Some(grid) = current.take() {
        grids.push(grid);
    }
    grids.retain(|g| !g.rows.is_empty() && g.rows.iter().any(|r| r.len() >= 2));
    (grids, in_table)
}

/// Text of the spans whose centre lies in the box, in reading order; wrapped lines are joined.
fn cell_text(
    spans: &[TextSpan],
    in_table: &mut [bool],
    left: f32,
    right: f32,
    top: f32,
    bottom: f32,
) -> String {
    let mut inside: Vec<&TextSpan> = Vec::new();
    for (k, span) in spans.iter().enumerate() {
        let cx = span.bbox.x + span.bbox.width / 2.0;
        let cy = span.bbox.y + span.bbox.height / 2.0;
        if left <= cx && cx <= right && bottom <= cy && cy <= top {
            in_table[k] = true;
            inside.push(span);
        }
    }
    join_lines(&mut inside)
}

/// Spans grouped into lines (top to bottom, then left to right) and joined into one text.
pub fn join_lines(spans: &mut [&TextSpan]) -> String {
    spans.sort_by(|a, b| b.bbox.y.total_cmp(&a.bbox.y));
    let mut lines: Vec<Vec<&TextSpan>> = Vec::new();
    for span in spans.iter() {
        let tolerance = span.bbox.height.max(1.0) * 0.5;
        match lines.last_mut() {
            Some(line) if (line[0].bbox.y - span.bbox.y).abs() <= tolerance => line.push(span),
            _ => lines.push(vec![span]),
        }
    }
    let mut text = String::new();
    for mut line in lines {
        line.sort_by(|a, b| a.bbox.x.total_cmp(&b.bbox.x));
        let mut line_text = String::new();
        let mut right_edge: Option<f32> = None;
        for span in line {
            if let Some(edge) = right_edge {
                if span.bbox.x - edge > span.font_size.max(1.0) * 0.25 {
                    line_text.push(' ');
                }
            }
            line_text.push_str(&span.text);
            right_edge = Some(span.bbox.x + span.bbox.width);
        }
        let line_text = line_text.trim();
        if line_text.is_empty() {
            continue;
        }
        let ascii_seam = text
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && line_text.starts_with(|c: char| c.is_ascii_alphanumeric());
        if ascii_seam {
            text.push(' ');
        }
        text.push_str(line_text);
    }
    text
}

/// Whether a table starting a page continues one ending the previous page: same column edges.
pub fn same_columns(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 3.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pdf_oxide::geometry::Rect;

    fn span(text: &str, x: f32, y: f32) -> TextSpan {
        TextSpan {
            text: text.into(),
            bbox: Rect::new(x, y, 10.0 * text.chars().count() as f32, 10.0),
            font_size: 10.0,
            ..Default::default()
        }
    }

    fn h(y: f32) -> Segment {
        Segment {
            at: y,
            from: 50.0,
            to: 450.0,
        }
    }

    fn v(x: f32) -> Segment {
        Segment {
            at: x,
            from: 100.0,
            to: 400.0,
        }
    }

    /// A two-column table (400..100 in y) whose cells are written column by column, the name
    /// wrapped over two lines, and a paragraph above it.
    #[test]
    fn cells_written_column_by_column_come_out_as_rows() {
        let spans = vec![
            span("评分因素", 60.0, 380.0),
            span("投标人业绩（", 60.0, 280.0),
            span("12分）", 60.0, 265.0),
            span("技术方案（20分）", 60.0, 180.0),
            span("评分标准", 260.0, 380.0),
            span("每项得2分", 260.0, 275.0),
            span("优得20分", 260.0, 175.0),
            span("正文段落", 60.0, 450.0),
        ];
        let (grids, in_table) = tables(
            &spans,
            &[h(400.0), h(350.0), h(220.0), h(100.0)],
            &[v(50.0), v(250.0), v(450.0)],
        );
        assert_eq!(grids.len(), 1);
        assert_eq!(
            grids[0].rows,
            [
                ["评分因素", "评分标准"],
                ["投标人业绩（12分）", "每项得2分"],
                ["技术方案（20分）", "优得20分"],
            ]
        );
        assert_eq!(in_table, [true, true, true, true, true, true, true, false]);
    }

    #[test]
    fn a_lone_rule_is_no_table() {
        let spans = vec![span("第一章 招标公告", 60.0, 380.0)];
        let (grids, in_table) = tables(&spans, &[h(370.0)], &[]);
        assert!(grids.is_empty());
        assert_eq!(in_table, [false]);
    }
}
