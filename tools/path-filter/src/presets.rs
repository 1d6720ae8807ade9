//! Preset rule sets that users would otherwise hand-write, taken from
//! Nightfall's endpoint-DLP tutorial and common editor/browser habits.

/// A preset: regexes added to --include and --exclude.
pub struct Preset {
    pub include: &'static [&'static str],
    pub exclude: &'static [&'static str],
}

/// Preset names accepted by `--preset`.
pub const NAMES: [&str; 3] = ["user-docs", "ignore-temp", "ignore-system"];

/// The preset called `name`.
pub fn get(name: &str) -> Option<Preset> {
    Some(match name {
        // The tutorial's `.*/Downloads/.*`, `.*/Desktop/.*`, `.*/Documents/.*`,
        // anchored to user home directories on macOS and Linux.
        "user-docs" => Preset {
            include: &[r"^/(Users|home)/[^/]+/(Desktop|Documents|Downloads)(/|$)"],
            exclude: &[],
        },
        "ignore-temp" => Preset {
            include: &[],
            exclude: &[
                // vim swap files (.swp, .swo ... .swa, and .swx), vim's
                // write test file, emacs autosave/backup/lock files,
                // generic backups
                r"(^|/)\.[^/]*\.sw[a-px]$",
                r"(^|/)#[^/]*#$",
                r"(^|/)\.#[^/]*$",
                r"~$",
                r"\.(bak|orig)$",
                r"(^|/)4913$",
                // Kate, JetBrains IDEs, gedit/GNOME atomic saves, LibreOffice locks
                r"\.kate-swp$",
                r"___jb_(tmp|old)___$",
                r"(^|/)\.goutputstream-[^/]*$",
                r"(^|/)\.~lock\.[^/]*#$",
                // macOS, Windows and Office droppings, desktop trash folders
                r"(^|/)\.DS_Store$",
                r"(^|/)~\$[^/]*$",
                r"(^|/)\._[^/]*$",
                r"(^|/)(Thumbs\.db|desktop\.ini)$",
                r"(^|/)\.(Spotlight-V100|Trashes|fseventsd|TemporaryItems)(/|$)",
                r"(^|/)\.Trash(-[0-9]+)?(/|$)",
                // partial downloads and temp files
                r"\.(part|crdownload|download|tmp|temp|partial)$",
                // version-control internals
                r"(^|/)\.(git|hg|svn)(/|$)",
            ],
        },
        // The tutorial's catch-all `(?!/opt/|.*/Library/|.*/private/|/System/|/Applications/|/usr/).*`
        // plus Linux pseudo file systems and caches.
        "ignore-system" => Preset {
            include: &[],
            exclude: &[
                r"^/(opt|private|System|Applications|usr|proc|sys|dev|var/cache)(/|$)",
                r"/Library/",
            ],
        },
        _ => return None,
    })
}
