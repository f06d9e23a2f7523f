//! zk-top's interaction state and what each key does to it: the pane shown, the [`Query`]
//! (sort column and order, filters, aggregation depth), pause, the help overlay, and the
//! one-line editor for a filter. Pure (keys in, state out), so it is unit-tested without a
//! terminal.

use super::{Pane, Query};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The keys, as `?` lists them.
pub const HELP: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "next / previous pane"),
    (
        "1-8",
        "pane: types paths clients servers latency errors watches sessions",
    ),
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
        }
    }

    fn show(&mut self, pane: Pane) {
        if pane != self.pane {
            self.pane = pane;
            self.query.sort = None;
            self.query.descending = true;
        }
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
        match key.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Char('?') | KeyCode::Char('h') => self.help = true,
            KeyCode::Tab => self.step_pane(1),
            KeyCode::BackTab => self.step_pane(-1),
            KeyCode::Char(c @ '1'..='8') => self.show(Pane::ALL[c as usize - '1' as usize]),
            KeyCode::Char('s') => self.step_sort(1),
            KeyCode::Char('S') => self.step_sort(-1),
            KeyCode::Char('r') => self.query.descending = !self.query.descending,
            KeyCode::Char('+') | KeyCode::Char('=') => self.query.depth += 1,
            KeyCode::Char('-') => self.query.depth = self.query.depth.saturating_sub(1),
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
