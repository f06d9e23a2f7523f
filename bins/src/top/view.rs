//! zk-top's screen, drawn with ratatui: a title line, the capture health (always visible), the
//! pane tabs, the query line (depth, filters, sort), the shown pane's table, and a key hint or
//! the filter being typed; `?` lays the key list over it. Layout and tables only: the numbers
//! come from a [`Screen`], made by [`Top::screen`] under the capture's lock.

use super::ui::{Editing, Extent, Ui, HELP};
use super::{Pane, Screen};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table};
use ratatui::Frame;

/// What the screen says about the run besides the numbers.
#[derive(Debug, Clone)]
pub struct Info {
    /// The input (`-r FILE`, `-i IFACE`).
    pub source: String,
    /// Colours on (`--color`, `NO_COLOR`); off, only bold and reverse video are used.
    pub color: bool,
}

fn style(color: bool, fg: Color) -> Style {
    if color {
        Style::default().fg(fg)
    } else {
        Style::default()
    }
}

/// The state line: live, paused, or the end of a file (totals final).
pub fn state_text(screen: &Screen, ui: &Ui) -> &'static str {
    match (ui.paused, screen.finished) {
        (true, _) => "PAUSED (p resumes)",
        (false, true) => "end of capture: totals final, q quits",
        (false, false) => "running",
    }
}

/// Draws the whole screen; returns the shown table's size, for the scrolling keys
/// ([`Ui::extent`]).
pub fn draw(frame: &mut Frame<'_>, screen: &Screen, ui: &Ui, info: &Info) -> Extent {
    let [title, health, tabs, query, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let bold = Style::default().add_modifier(Modifier::BOLD);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("zk-top", bold.patch(style(info.color, Color::Cyan))),
            Span::raw(format!(
                "  {}  interval {}s  ",
                info.source,
                screen.interval_ns as f64 / 1e9
            )),
            Span::styled(state_text(screen, ui), style(info.color, Color::Yellow)),
        ])),
        title,
    );
    frame.render_widget(
        Paragraph::new(format!("capture: {}", screen.health))
            .style(style(info.color, Color::Green)),
        health,
    );
    let mut spans = Vec::new();
    for (i, pane) in Pane::ALL.iter().enumerate() {
        let text = format!(" {} {} ", i + 1, pane.title());
        spans.push(if *pane == ui.pane {
            Span::styled(text, bold.add_modifier(Modifier::REVERSED))
        } else {
            Span::raw(text)
        });
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), tabs);
    let q = &ui.query;
    let table = &screen.table;
    let depth = match q.depth {
        0 => "whole paths".to_string(),
        d => d.to_string(),
    };
    frame.render_widget(
        Paragraph::new(format!(
            "depth {depth}  path filter {}  client filter {}  sort {} {}",
            q.path_prefix.as_deref().unwrap_or("-"),
            q.client.as_deref().unwrap_or("-"),
            table.columns[table.sort],
            if table.descending { "desc" } else { "asc" },
        )),
        query,
    );
    let extent = draw_table(frame, body, table, ui, info);
    let hint = match &ui.editing {
        Some((Editing::Path, text)) => {
            format!("path prefix: {text}_  (Enter applies, Esc cancels)")
        }
        Some((Editing::Client, text)) => {
            format!("client prefix: {text}_  (Enter applies, Esc cancels)")
        }
        None => {
            "? keys  Tab pane  j/k PgDn/PgUp g/G scroll  s sort  r reverse  +/- depth  / path  \
                 c client  p pause  q quit"
                .to_string()
        }
    };
    frame.render_widget(Paragraph::new(hint).style(bold), footer);
    if ui.help {
        draw_help(frame);
    }
    extent
}

/// The pane's title: its name and its rows, or which of them are shown when they do not all
/// fit (`Paths (rows 21–40 of 406)`, counted from 1).
pub fn table_title(table: &super::Table, shown: std::ops::Range<usize>) -> String {
    let n = table.rows.len();
    if shown.len() >= n {
        format!(" {} ({n} rows) ", table.pane.title())
    } else {
        format!(
            " {} (rows {}\u{2013}{} of {n}) ",
            table.pane.title(),
            shown.start + 1,
            shown.end
        )
    }
}

fn draw_table(
    frame: &mut Frame<'_>,
    area: Rect,
    table: &super::Table,
    ui: &Ui,
    info: &Info,
) -> Extent {
    // The top border with the title, then the header row.
    let extent = Extent {
        rows: table.rows.len(),
        page: (area.height as usize).saturating_sub(2).max(1),
    };
    let shown = ui.visible(extent.rows, extent.page);
    let header: Vec<String> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| match (i == table.sort, table.descending) {
            (true, true) => format!("{c} v"),
            (true, false) => format!("{c} ^"),
            _ => c.to_string(),
        })
        .collect();
    let cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| r.iter().map(ToString::to_string).collect())
        .collect();
    let numeric: Vec<bool> = (0..header.len())
        .map(|c| table.rows.first().is_some_and(|r| r[c].numeric()))
        .collect();
    let widths: Vec<u16> = (0..header.len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].len())
                .chain([header[c].len()])
                .max()
                .unwrap_or(1) as u16
        })
        .collect();
    let align = |c: usize, s: &str| {
        let w = widths[c] as usize;
        if numeric[c] {
            format!("{s:>w$}")
        } else {
            format!("{s:<w$}")
        }
    };
    // Widths over every row, so they stay put while scrolling.
    let rows = cells[shown.clone()].iter().map(|r| {
        Row::new(
            r.iter()
                .enumerate()
                .map(|(c, s)| align(c, s))
                .collect::<Vec<_>>(),
        )
    });
    let head = Row::new(
        header
            .iter()
            .enumerate()
            .map(|(c, s)| align(c, s))
            .collect::<Vec<_>>(),
    )
    .style(
        Style::default()
            .add_modifier(Modifier::BOLD)
            .patch(style(info.color, Color::Cyan)),
    );
    let block = Block::default()
        .borders(Borders::TOP)
        .title(table_title(table, shown));
    let widget = Table::new(rows, widths.iter().map(|w| Constraint::Length(*w)))
        .header(head)
        .column_spacing(2)
        .block(block);
    frame.render_widget(widget, area);
    extent
}

fn draw_help(frame: &mut Frame<'_>) {
    let area = frame.area();
    let width = 76.min(area.width);
    let height = (HELP.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line<'_>> = HELP
        .iter()
        .map(|(k, what)| Line::from(format!("{k:<16} {what}")))
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" keys ")),
        popup,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::top::Top;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    #[test]
    fn the_main_pane_shows_health_tabs_and_the_table() {
        let mut top = Top::new(1_000_000_000);
        top.packet(zkwire_capture::Timestamp(0));
        top.finish(&zkwire_capture::CaptureStats::default());
        let ui = Ui::new(0);
        let info = Info {
            source: "-r x.pcap".into(),
            color: false,
        };
        let mut terminal = Terminal::new(TestBackend::new(100, 12)).expect("terminal");
        terminal
            .draw(|f| {
                draw(f, &top.screen(&ui), &ui, &info);
            })
            .expect("draw");
        let screen: Vec<String> = terminal
            .backend()
            .buffer()
            .content()
            .chunks(100)
            .map(|l| l.iter().map(|c| c.symbol()).collect::<String>())
            .collect();
        assert!(screen[0].contains("end of capture"), "{screen:#?}");
        assert!(screen[1].starts_with("capture: packets 1"), "{screen:#?}");
        assert!(screen[2].contains("1 Types"), "{screen:#?}");
        assert!(
            screen[5].contains("type") && screen[5].contains("total v"),
            "{screen:#?}"
        );
    }

    fn screen(top: &Top, ui: &Ui, height: u16) -> (Vec<String>, Extent) {
        let info = Info {
            source: "-r x.pcap".into(),
            color: false,
        };
        let mut terminal = Terminal::new(TestBackend::new(100, height)).expect("terminal");
        let mut extent = Extent::default();
        terminal
            .draw(|f| extent = draw(f, &top.screen(ui), ui, &info))
            .expect("draw");
        let lines = terminal
            .backend()
            .buffer()
            .content()
            .chunks(100)
            .map(|l| l.iter().map(|c| c.symbol()).collect::<String>())
            .collect();
        (lines, extent)
    }

    #[test]
    fn a_long_table_scrolls_and_its_title_shows_the_rows_on_screen() {
        use crate::zk::{ZkBody, ZkMessage, ZkSink};
        let mut top = Top::new(1_000_000_000);
        let paths: Vec<String> = (0..50).map(|i| format!("/p{i:02}")).collect();
        for path in &paths {
            let request = zk_proto::Request {
                xid: 1,
                opcode: zk_proto::OpCode::Sync,
                body: zk_proto::message::RequestBody::Sync(zk_proto::records::PathRequest {
                    path: Some(path.as_str().into()),
                }),
            };
            top.message(&ZkMessage {
                ts: zkwire_capture::Timestamp(0),
                client: std::net::SocketAddr::from(([10, 0, 0, 1], 1)),
                server: std::net::SocketAddr::from(([10, 0, 0, 9], 2181)),
                session: None,
                path: Some(path),
                outstanding: 0,
                body: ZkBody::Request {
                    request: &request,
                    size: 0,
                },
            });
        }
        let mut ui = Ui::new(0);
        ui.query.sort = Some(0);
        ui.query.descending = false;
        ui.pane = Pane::Paths;
        // 20 lines: 4 above the table, its title and header, 13 rows, the key line.
        let (lines, extent) = screen(&top, &ui, 20);
        assert_eq!(extent, Extent { rows: 50, page: 13 });
        assert!(
            lines[4].contains("Paths (rows 1\u{2013}13 of 50)"),
            "{lines:#?}"
        );
        assert!(
            lines[6].starts_with("/p00 ") && lines[18].starts_with("/p12 "),
            "{lines:#?}"
        );
        ui.extent = extent;
        ui.on_key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE));
        let (lines, _) = screen(&top, &ui, 20);
        assert!(
            lines[4].contains("Paths (rows 38\u{2013}50 of 50)"),
            "{lines:#?}"
        );
        assert!(
            lines[6].starts_with("/p37 ") && lines[18].starts_with("/p49 "),
            "{lines:#?}"
        );
        // A taller screen shows all of it.
        let (lines, _) = screen(&top, &ui, 60);
        assert!(lines[4].contains("Paths (50 rows)"), "{lines:#?}");
        assert!(lines[6].starts_with("/p00 "), "{lines:#?}");
    }
}
