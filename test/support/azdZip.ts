// What azd puts into a Functions deployment zip, reimplemented for tests: azd's createDeployableZip
// (cli/azd/pkg/project/project_utils.go in Azure/azure-dev) walks the folder it zips and leaves out
// `.azure` folders, the ignore file itself (.funcignore for host: function), local.settings.json, and
// whatever the ignore file matches (gitignore syntax, github.com/denormal/go-gitignore; a folder that
// matches is not entered). Files are stored deflated (Go's archive/zip, default level).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { deflateRawSync } from 'node:zlib';

interface Rule {
  negate: boolean;
  directoryOnly: boolean;
  anchored: boolean;
  pattern: RegExp;
}

function globToRegExp(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i] ?? '';
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // "**/" any folders (or none), "/**" everything below, "**" anything.
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) out += '\\[';
      else {
        out += `[${glob.slice(i + 1, end).replace(/^!/, '^')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) {
      out += `\\${glob[i + 1]}`;
      i += 1;
    } else out += c.replace(/[.+^${}()|]/g, '\\$&');
  }
  return out;
}

/** A .funcignore (gitignore syntax): ignored(relativePath, isDirectory), the last matching rule winning. */
export function parseIgnoreFile(contents: string): (path: string, isDirectory: boolean) => boolean {
  const rules: Rule[] = [];
  for (const rawLine of contents.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    let line = rawLine.replace(/(?<!\\)\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const directoryOnly = line.endsWith('/');
    if (directoryOnly) line = line.slice(0, -1);
    // A slash at the start or in the middle anchors the pattern to the ignore file's folder.
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    rules.push({ negate, directoryOnly, anchored, pattern: new RegExp(`^${globToRegExp(line)}$`) });
  }
  return (path, isDirectory) => {
    const normalized = path.split(sep).join('/');
    const base = normalized.slice(normalized.lastIndexOf('/') + 1);
    let ignored = false;
    for (const rule of rules) {
      if (rule.directoryOnly && !isDirectory) continue;
      const subject = rule.anchored ? normalized : base;
      if (rule.pattern.test(subject)) ignored = !rule.negate;
    }
    return ignored;
  };
}

export interface ZipEntry {
  /** Path in the zip, with forward slashes. */
  name: string;
  size: number;
}

/** The files azd zips from `root` for a Functions app, honouring root/.funcignore. */
export function azdZipEntries(root: string, ignoreFile = '.funcignore'): ZipEntry[] {
  let ignored: (path: string, isDirectory: boolean) => boolean = () => false;
  try {
    ignored = parseIgnoreFile(readFileSync(join(root, ignoreFile), 'utf8'));
  } catch {
    // no ignore file: azd's defaults for Node leave out node_modules (remote build); not our case
  }
  const entries: ZipEntry[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const isDirectory = entry.isDirectory() || (entry.isSymbolicLink() && statSync(path).isDirectory());
      if (entry.name === '.azure' && isDirectory) continue;
      if (!isDirectory && (entry.name === ignoreFile || entry.name === 'local.settings.json')) continue;
      const rel = relative(root, path);
      if (ignored(rel, isDirectory)) continue;
      if (isDirectory) walk(path);
      else entries.push({ name: rel.split(sep).join('/'), size: statSync(path).size });
    }
  };
  walk(root);
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The size of the zip azd would write: per file a local header (30 bytes + name), the deflated data and a
 * data descriptor (16, Go writes one per file), a central directory entry (46 + name); then the end record.
 */
export function zipSize(root: string, entries: ZipEntry[]): number {
  let total = 22;
  for (const entry of entries) {
    const name = Buffer.byteLength(entry.name);
    const data = readFileSync(join(root, ...entry.name.split('/')));
    total += 30 + name + deflateRawSync(data).length + 16 + 46 + name;
  }
  return total;
}
