//! zk-top's interaction state and what each key does to it: the pane shown, the [`Query`]
//! (sort column and order, filters, aggregation depth), the scroll position, pause, the help
//! overlay, and the one-line editor for a filter. Pure (keys in, state out), so it is
//! unit-tested without a terminal.

use super::{Pane, Query};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The keys, as `?` lists them.
pub const HELP: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "next / previous pane"),
    (
        "1-9",
        "pane: types paths clients servers latency errors watches sessions writes",
    ),
    ("Down / Up, j / k", "scroll the table by one row"),
    ("PgDn / PgUp", "scroll the table by a screen"),
    ("Home / End, g / G", "the first / last rows of the table"),
    ("s / S", "sort by the next / previous column"),
    ("r", "reverse the sort order"),
    ("+ / -", "path aggregation depth (0: whole paths)"),
    ("/", "filter by path prefix (Enter applies, empty clears)"),
    ("c", "filter by client address prefix (ip:port)"),
    ("x", "clear both filters"),
    ("p / space", "pause / resume the view"),
    ("?", "this help (any key closes it)"),
    ("q / Ctrl-C", "quit"),
];

/// Which filter the line editor is filling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Editing {
    /// The path prefix.
    Path,
    /// The client address prefix.
    Client,
}

/// How much there is to scroll, as of the last draw: the table's rows and how many of them
/// fit on the screen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extent {
    /// Rows in the shown table.
    pub rows: usize,
    /// Rows that fit in the table's area (at least 1).
    pub page: usize,
}

impl Extent {
    /// The first row that can be at the top: the last page ends at the last row.
    pub fn max_scroll(self) -> usize {
        self.rows.saturating_sub(self.page.max(1))
    }

    /// The rows shown from `scroll` on, as a range of row indexes (clamped: never past the
    /// end, never a short last page when the table is longer than the screen).
    pub fn visible(self, scroll: usize) -> std::ops::Range<usize> {
        let start = scroll.min(self.max_scroll());
        start..(start + self.page.max(1)).min(self.rows)
    }
}

/// What the key loop should do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing changed.
    None,
    /// Draw again.
    Redraw,
    /// Pause or resume was toggled: take (or drop) the frozen copy, then draw.
    TogglePause,
    /// Leave.
    Quit,
}

/// The interaction state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ui {
    /// The pane shown.
    pub pane: Pane,
    /// Sort, filters and depth; the sort column is per pane, so it resets when the pane
    /// changes.
    pub query: Query,
    /// The view is frozen.
    pub paused: bool,
    /// The key list is shown.
    pub help: bool,
    /// A filter being typed, and the text so far.
    pub editing: Option<(Editing, String)>,
    /// The table row at the top of the pane (0: the first); back to 0 when the pane, the
    /// sort, a filter or the depth changes.
    pub scroll: usize,
    /// The shown table's size as of the last draw, which scrolling keys clamp to (the key
    /// loop sets it after every draw).
    pub extent: Extent,
}

impl Ui {
    /// The main pane, default order, `depth`.
    pub fn new(depth: usize) -> Ui {
        Ui {
            pane: Pane::Types,
            query: Query {
                depth,
                ..Query::default()
            },
            paused: false,
            help: false,
            editing: None,
            scroll: 0,
            extent: Extent::default(),
        }
    }

    fn show(&mut self, pane: Pane) {
        if pane != self.pane {
            self.pane = pane;
            self.query.sort = None;
            self.query.descending = true;
            self.scroll = 0;
        }
    }

    /// Moves the top row by `by` (negative: up), within the table as last drawn.
    fn scroll_by(&mut self, by: isize) {
        let from = self.scroll.min(self.extent.max_scroll());
        self.scroll = from.saturating_add_signed(by).min(self.extent.max_scroll());
    }

    /// The rows to draw of a table of `rows` rows with `page` lines for them.
    pub fn visible(&self, rows: usize, page: usize) -> std::ops::Range<usize> {
        Extent { rows, page }.visible(self.scroll)
    }

    fn step_pane(&mut self, by: isize) {
        let n = Pane::ALL.len() as isize;
        let at = Pane::ALL.iter().position(|p| *p == self.pane).unwrap_or(0) as isize;
        self.show(Pane::ALL[(at + by).rem_euclid(n) as usize]);
    }

    fn step_sort(&mut self, by: isize) {
        let n = self.pane.columns().len() as isize;
        let at = self.query.sort.unwrap_or_else(|| self.pane.default_sort()) as isize;
        let next = (at + by).rem_euclid(n) as usize;
        self.query.sort = Some(next);
        self.scroll = 0;
        // Names A to Z, numbers largest first.
        self.query.descending = next != 0 && !(self.pane == Pane::Errors && next == 1);
    }

    /// Applies one key.
    pub fn on_key(&mut self, key: KeyEvent) -> Action {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        if let Some((which, text)) = &mut self.editing {
            match key.code {
                KeyCode::Enter => {
                    let value = Some(text.trim().to_string()).filter(|t| !t.is_empty());
                    match which {
                        Editing::Path => self.query.path_prefix = value,
                        Editing::Client => self.query.client = value,
                    }
                    self.editing = None;
                    self.scroll = 0;
                }
                KeyCode::Esc => self.editing = None,
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char(c) => text.push(c),
                _ => return Action::None,
            }
            return Action::Redraw;
        }
        if self.help {
            self.help = false;
            return Action::Redraw;
        }
        let page = self.extent.page.max(1) as isize;
        match key.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Down | KeyCode::Char('j') => self.scroll_by(1),
            KeyCode::Up | KeyCode::Char('k') => self.scroll_by(-1),
            KeyCode::PageDown => self.scroll_by(page),
            KeyCode::PageUp => self.scroll_by(-page),
            KeyCode::Home | KeyCode::Char('g') => self.scroll = 0,
            KeyCode::End | KeyCode::Char('G') => self.scroll = self.extent.max_scroll(),
            KeyCode::Char('?') | KeyCode::Char('h') => self.help = true,
            KeyCode::Tab => self.step_pane(1),
            KeyCode::BackTab => self.step_pane(-1),
            KeyCode::Char(c @ '1'..='9') => self.show(Pane::ALL[c as usize - '1' as usize]),
            KeyCode::Char('s') => self.step_sort(1),
            KeyCode::Char('S') => self.step_sort(-1),
            KeyCode::Char('r') => {
                self.query.descending = !self.query.descending;
                self.scroll = 0;
            }
            KeyCode::Char('+') | KeyCode::Char('=') => {
                self.query.depth += 1;
                self.scroll = 0;
            }
            KeyCode::Char('-') => {
                self.query.depth = self.query.depth.saturating_sub(1);
                self.scroll = 0;
            }
            KeyCode::Char('/') => {
                let text = self.query.path_prefix.clone().unwrap_or_default();
                self.editing = Some((Editing::Path, text));
            }
            KeyCode::Char('c') => {
                let text = self.query.client.clone().unwrap_or_default();
                self.editing = Some((Editing::Client, text));
            }
            KeyCode::Char('x') => {
                self.query.path_prefix = None;
                self.query.client = None;
                self.scroll = 0;
            }
            KeyCode::Char('p') | KeyCode::Char(' ') => {
                self.paused = !self.paused;
                return Action::TogglePause;
            }
            _ => return Action::None,
        }
        Action::Redraw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ui: &mut Ui, code: KeyCode) -> Action {
        ui.on_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn scrolling_moves_by_rows_and_pages_clamps_at_both_ends_and_shows_the_range() {
        let mut ui = Ui::new(0);
        press(&mut ui, "2");
        ui.extent = Extent {
            rows: 406,
            page: 20,
        };
        assert_eq!(ui.visible(406, 20), 0..20);
        assert_eq!(key(&mut ui, KeyCode::Up), Action::Redraw);
        assert_eq!(ui.scroll, 0, "nothing above the first row");
        press(&mut ui, "jjj");
        key(&mut ui, KeyCode::Down);
        assert_eq!(ui.scroll, 4);
        press(&mut ui, "k");
        assert_eq!(ui.scroll, 3);
        key(&mut ui, KeyCode::PageDown);
        assert_eq!(ui.visible(406, 20), 23..43);
        key(&mut ui, KeyCode::PageUp);
        key(&mut ui, KeyCode::PageUp);
        assert_eq!(ui.scroll, 0);
        key(&mut ui, KeyCode::End);
        assert_eq!(
            ui.visible(406, 20),
            386..406,
            "the last page ends at the last row"
        );
        key(&mut ui, KeyCode::Down);
        key(&mut ui, KeyCode::PageDown);
        assert_eq!(ui.scroll, 386, "nothing below the last row");
        press(&mut ui, "k");
        assert_eq!(ui.scroll, 385, "one up from the end is at once one up");
        key(&mut ui, KeyCode::Home);
        assert_eq!(ui.scroll, 0);
        press(&mut ui, "G");
        assert_eq!(ui.scroll, 386);
        press(&mut ui, "g");
        assert_eq!(ui.scroll, 0);
        // The table shrank since the key (a filter elsewhere, a new interval): drawn clamped.
        press(&mut ui, "G");
        assert_eq!(ui.visible(30, 20), 10..30);
        assert_eq!(ui.visible(5, 20), 0..5, "all of a short table");
        assert_eq!(ui.visible(0, 20), 0..0);
        // A table that fits does not scroll.
        ui.extent = Extent { rows: 5, page: 20 };
        press(&mut ui, "gjjG");
        assert_eq!(ui.scroll, 0);
    }

    #[test]
    fn the_pane_the_sort_the_filters_and_the_depth_reset_the_scroll() {
        let mut ui = Ui::new(0);
        ui.extent = Extent {
            rows: 100,
            page: 10,
        };
        let keys: [&str; 9] = ["3", "\t", "s", "S", "r", "+", "-", "/a\n", "x"];
        for keys in keys {
            press(&mut ui, "G");
            assert_eq!(ui.scroll, 90);
            press(&mut ui, keys);
            assert_eq!(ui.scroll, 0, "after {keys:?}");
        }
        press(&mut ui, "G");
        press(&mut ui, "c10.\n");
        assert_eq!(ui.scroll, 0, "client filter");
        // Esc leaves the filter as it was, and the scroll too.
        press(&mut ui, "G/");
        key(&mut ui, KeyCode::Esc);
        assert_eq!(ui.scroll, 90);
        // Pause and help keep the place.
        press(&mut ui, "p?z");
        assert_eq!(ui.scroll, 90);
    }

    fn press(ui: &mut Ui, keys: &str) -> Action {
        let mut last = Action::None;
        for c in keys.chars() {
            let code = match c {
                '\n' => KeyCode::Enter,
                '\t' => KeyCode::Tab,
                c => KeyCode::Char(c),
            };
            last = ui.on_key(KeyEvent::new(code, KeyModifiers::NONE));
        }
        last
    }

    #[test]
    fn keys_switch_panes_sort_filter_and_quit() {
        let mut ui = Ui::new(0);
        press(&mut ui, "\t\t");
        assert_eq!(ui.pane, Pane::Clients);
        press(&mut ui, "2s");
        assert_eq!(ui.pane, Pane::Paths);
        // From the default (total) the next column wraps to the name, A to Z.
        assert_eq!((ui.query.sort, ui.query.descending), (Some(0), false));
        press(&mut ui, "sr");
        assert_eq!((ui.query.sort, ui.query.descending), (Some(1), false));
        press(&mut ui, "1");
        assert_eq!(
            (ui.query.sort, ui.query.descending),
            (None, true),
            "per pane"
        );
        press(&mut ui, "++-+");
        assert_eq!(ui.query.depth, 2);
        press(&mut ui, "/q/a\n");
        assert_eq!(
            ui.query.path_prefix.as_deref(),
            Some("q/a"),
            "q is text here"
        );
        press(&mut ui, "c10.0.\n");
        assert_eq!(ui.query.client.as_deref(), Some("10.0."));
        press(&mut ui, "x");
        assert_eq!(
            (ui.query.path_prefix.clone(), ui.query.client.clone()),
            (None, None)
        );
        assert_eq!(press(&mut ui, "p"), Action::TogglePause);
        assert!(ui.paused);
        press(&mut ui, "?");
        assert!(ui.help);
        assert_eq!(
            press(&mut ui, "q"),
            Action::Redraw,
            "the first key closes the help"
        );
        assert_eq!(press(&mut ui, "q"), Action::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(ui.on_key(ctrl_c), Action::Quit);
    }
}
