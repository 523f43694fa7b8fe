// Test harness: a real borderflow node on loopback (temp dir, users and tokens made with the
// CLI, `serve --web-root web/dist`) and Debian's chromium through playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = path.resolve(WEB_DIR, '..');
export const DIST_DIR = path.join(WEB_DIR, 'dist');
export const CHROMIUM = process.env.BORDERFLOW_CHROMIUM || '/usr/bin/chromium';

export function borderflowBinary() {
  // A BORDERFLOW_BIN that is given is used or refused, never silently replaced by an older
  // build; a relative one is taken from the repository's root, where the README's commands run.
  if (process.env.BORDERFLOW_BIN) {
    const bin = path.resolve(REPO_DIR, process.env.BORDERFLOW_BIN);
    if (!fs.existsSync(bin)) throw new Error(`BORDERFLOW_BIN: no file ${bin}`);
    return bin;
  }
  const candidates = [
    path.join(REPO_DIR, 'build/asan/apps/borderflow/borderflow'),
    path.join(REPO_DIR, 'build/release/apps/borderflow/borderflow'),
  ];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error('borderflow binary not found: set BORDERFLOW_BIN');
}

// Why the browser tests cannot run here, or null when they can.
export function missingPrerequisite() {
  if (!fs.existsSync(path.join(WEB_DIR, 'node_modules', 'playwright-core'))) return 'web/node_modules is missing (run npm ci in web/)';
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install chromium)`;
  if (!fs.existsSync(path.join(DIST_DIR, 'index.html'))) return 'web/dist is missing (run npm run build in web/)';
  return null;
}

export function screenshotDir() {
  const dir = process.env.BORDERFLOW_SCREENSHOT_DIR || path.join(REPO_DIR, 'build', 'web-screenshots');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const CONFIG = path.join(REPO_DIR, 'config', 'huu-nghi.toml');

// The demo gate's real hours (07:00-23:00 and 08:00-24:00 local time) close it at night, when no
// truck can be called forward: the tests run at any hour on a copy open around the clock.
function configOpenAroundTheClock(dir) {
  let opens = 0;
  let closes = 0;
  const text = fs.readFileSync(CONFIG, 'utf8')
    .replace(/^open = "\d\d:\d\d"$/gm, () => { opens += 1; return 'open = "00:00"'; })
    .replace(/^close = "\d\d:\d\d"$/gm, () => { closes += 1; return 'close = "24:00"'; });
  if (opens !== 2 || closes !== 2) throw new Error(`${CONFIG}: expected the hours of both sides, found ${opens} open and ${closes} close`);
  const file = path.join(dir, 'gate.toml');
  fs.writeFileSync(file, text);
  return file;
}

export class Node {
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bf-web-'));
    this.db = path.join(this.dir, 'node.db');
    this.config = configOpenAroundTheClock(this.dir);
    this.bin = borderflowBinary();
    this.tokens = {};
  }

  cli(args) {
    return execFileSync(this.bin, args, { cwd: REPO_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  }

  addUser(name, role, company) {
    const args = ['user', 'add', '--db', this.db, '--config', this.config, '--name', name, '--role', role];
    if (company) args.push('--company', company);
    this.cli(args);
    const out = this.cli(['token', 'issue', '--db', this.db, '--config', this.config, '--user', name, '--label', 'browser test']);
    const token = out.split('\n').find((l) => l.startsWith('bft_'));
    if (!token) throw new Error('no token in: ' + out);
    this.tokens[name] = token;
    return token;
  }

  async start() {
    const portFile = path.join(this.dir, 'port');
    const args = ['serve', '--config', this.config, '--db', this.db, '--port', '0', '--port-file', portFile, '--rate-limit', '0', '--queue-tick', '0', '--web-root', DIST_DIR];
    const log = fs.openSync(path.join(this.dir, 'server.log'), 'a');
    this.proc = spawn(this.bin, args, { cwd: REPO_DIR, stdio: ['ignore', log, log] });
    this.exited = new Promise((resolve) => this.proc.on('exit', resolve));
    const deadline = Date.now() + 60000;
    while (!fs.existsSync(portFile) || fs.readFileSync(portFile, 'utf8').trim() === '') {
      if (Date.now() > deadline || this.proc.exitCode !== null) throw new Error('borderflow did not start: ' + this.log());
      await new Promise((r) => setTimeout(r, 50));
    }
    this.apiPort = Number(fs.readFileSync(portFile, 'utf8').trim());
    this.apiUrl = `http://127.0.0.1:${this.apiPort}`;
    this.url = this.apiUrl;  // the node serves web/dist itself
  }

  log() {
    try {
      return fs.readFileSync(path.join(this.dir, 'server.log'), 'utf8').slice(-4000);
    } catch {
      return '';
    }
  }

  async api(user, method, p, body) {
    const headers = { Accept: 'application/json' };
    if (user) headers.Authorization = 'Bearer ' + this.tokens[user];
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') headers['Idempotency-Key'] = 'test-' + Math.random().toString(36).slice(2) + Date.now();
    const res = await fetch(this.apiUrl + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  }

  // Whether the node has the live feed (GET /api/v1/feed answers 200 to a signed-in user).
  async hasFeed(user) {
    const ctl = new AbortController();
    try {
      const res = await fetch(this.apiUrl + '/api/v1/feed', { headers: { Authorization: 'Bearer ' + this.tokens[user] }, signal: ctl.signal });
      return res.status === 200;
    } catch {
      return false;
    } finally {
      ctl.abort();
    }
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15000);
      await this.exited;
      clearTimeout(timer);
    }
    if (!process.env.BORDERFLOW_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'], headless: true });
}
