import type { VariablesDeclaration } from '@postline/contracts';
import type pg from 'pg';
import { sqlLimit } from './sql-limit.js';
import { contentBytes, makeRoom, type StorageLimit, VERSION_OVERHEAD_BYTES } from './template-storage.js';
import { inTransaction } from './transaction.js';

export interface TemplateContent {
  subject: string;
  html: string | null;
  text: string | null;
  variables: VariablesDeclaration;
}

export interface TemplateVersion extends TemplateContent {
  version: number;
  createdAt: string;
  /** Null: the draft. A published version never changes again. */
  publishedAt: string | null;
}

export interface StoredTemplate {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  /** What a send without `version` renders; null until the first publish. */
  publishedVersion: number | null;
  latestVersion: number;
  /** The version being edited (the latest, unpublished), if any. */
  draft: TemplateVersion | null;
  published: TemplateVersion | null;
  versions: { version: number; createdAt: string; publishedAt: string | null }[];
}

interface VersionRow {
  version: number;
  subject: string;
  html: string | null;
  text: string | null;
  variables: VariablesDeclaration;
  created_at: Date;
  published_at: Date | null;
}

const toVersion = (r: VersionRow): TemplateVersion => ({
  version: r.version,
  subject: r.subject,
  html: r.html,
  text: r.text,
  variables: r.variables,
  createdAt: r.created_at.toISOString(),
  publishedAt: r.published_at?.toISOString() ?? null,
});

/** `ref` is a template id (tmpl_…) or its name: the routes accept either. */
const byRef = (t = '') => `${t}account = $1 and ${t}deleted_at is null and (${t}id = $2 or (${t}name = $2 and $2 not like 'tmpl\\_%'))`;
const BY_REF = byRef();

type Db = pg.Pool | pg.PoolClient;

interface TemplateRow {
  id: string;
  name: string;
  latest_version: number;
  published_version: number | null;
  created_at: Date;
  updated_at: Date;
}
const TEMPLATE_COLUMNS = 'id, name, latest_version, published_version, created_at, updated_at';

async function templateRow(db: Db, account: string, ref: string, lock = false) {
  const { rows } = await db.query<TemplateRow>(`select ${TEMPLATE_COLUMNS} from templates where ${BY_REF}${lock ? ' for update' : ''}`, [
    account,
    ref,
  ]);
  return rows[0] ?? null;
}

/** One of `account`'s templates with its draft, its published version and the list of versions. */
export async function getTemplate(db: Db, account: string, ref: string): Promise<StoredTemplate | null> {
  const t = await templateRow(db, account, ref);
  if (!t) return null;
  // The source of the draft and of the published version only: the others are listed, not read
  // (a template may have hundreds of versions of up to 1.5 MiB each).
  const { rows } = await db.query<VersionRow>(
    `select version, created_at, published_at, ${['subject', 'html', 'text', 'variables'].map((c) => `case when version in ($2, $3) then ${c} end as ${c}`).join(', ')}
       from template_versions where template_id = $1 order by version`,
    [t.id, t.latest_version, t.published_version],
  );
  const versions = rows.map(toVersion);
  const latest = versions.find((v) => v.version === t.latest_version) ?? null;
  return {
    id: t.id,
    name: t.name,
    createdAt: t.created_at.toISOString(),
    updatedAt: t.updated_at.toISOString(),
    publishedVersion: t.published_version,
    latestVersion: t.latest_version,
    draft: latest && latest.publishedAt === null ? latest : null,
    published: versions.find((v) => v.version === t.published_version) ?? null,
    versions: versions.map(({ version, createdAt, publishedAt }) => ({ version, createdAt, publishedAt })),
  };
}

/** Creates a template and its version 1 (a draft, or published at once). Null: the name is taken. */
export async function createTemplate(
  db: pg.Pool,
  id: string,
  account: string,
  name: string,
  content: TemplateContent,
  publish: boolean,
  limit: StorageLimit,
): Promise<StoredTemplate | null> {
  try {
    await inTransaction(db, async (client) => {
      await makeRoom(client, account, limit, contentBytes(content) + VERSION_OVERHEAD_BYTES);
      await client.query(`insert into templates (id, account, name, latest_version, published_version) values ($1, $2, $3, 1, $4)`, [
        id,
        account,
        name,
        publish ? 1 : null,
      ]);
      await insertVersion(client, id, 1, content, publish);
    });
  } catch (error) {
    if ((error as { code?: string }).code === '23505') return null;
    throw error;
  }
  return getTemplate(db, account, id);
}

async function insertVersion(client: pg.PoolClient, id: string, version: number, c: TemplateContent, publish: boolean) {
  await client.query(
    `insert into template_versions (template_id, version, subject, html, text, variables, published_at)
     values ($1, $2, $3, $4, $5, $6, case when $7 then now() end)`,
    [id, version, c.subject, c.html, c.text, JSON.stringify(c.variables), publish],
  );
}

export async function listTemplates(db: pg.Pool, account: string, limit: number) {
  const { rows } = await db.query<TemplateRow>(
    `select ${TEMPLATE_COLUMNS} from templates where account = $1 and deleted_at is null order by created_at desc ${sqlLimit(limit)}`,
    [account],
  );
  return rows.map((t) => ({
    id: t.id,
    name: t.name,
    latestVersion: t.latest_version,
    publishedVersion: t.published_version,
    createdAt: t.created_at.toISOString(),
    updatedAt: t.updated_at.toISOString(),
  }));
}

/**
 * Edits the draft: the latest version if it is unpublished, or a new version copied from the
 * latest with the changes. A published version is never changed. Null: no such template; false:
 * the new name is taken.
 */
export async function updateDraft(
  db: pg.Pool,
  account: string,
  ref: string,
  patch: Partial<TemplateContent> & { name?: string | undefined },
  limit: StorageLimit,
  /** Checks the resulting content before anything is written (throw to refuse it). */
  check: (content: TemplateContent) => void | Promise<void> = () => {},
): Promise<StoredTemplate | null | false> {
  try {
    const id = await inTransaction(db, async (client) => {
      const t = await templateRow(client, account, ref, true);
      if (!t) return null;
      const { rows } = await client.query<VersionRow>(
        'select version, subject, html, text, variables, created_at, published_at from template_versions where template_id = $1 and version = $2',
        [t.id, t.latest_version],
      );
      const latest = rows[0] as VersionRow;
      const content: TemplateContent = {
        subject: patch.subject ?? latest.subject,
        html: patch.html === undefined ? latest.html : patch.html,
        text: patch.text === undefined ? latest.text : patch.text,
        variables: patch.variables ?? latest.variables,
      };
      await check(content);
      const touchesContent =
        patch.subject !== undefined || patch.html !== undefined || patch.text !== undefined || patch.variables !== undefined;
      let version = t.latest_version;
      // An unpublished latest version is edited in place: its source is replaced, not added to.
      const inPlace = latest.published_at === null;
      const adding = contentBytes(content) + (inPlace ? 0 : VERSION_OVERHEAD_BYTES);
      if (touchesContent) await makeRoom(client, account, limit, adding, inPlace ? contentBytes(latest) : 0);
      if (touchesContent && inPlace) {
        await client.query(
          'update template_versions set subject = $3, html = $4, text = $5, variables = $6 where template_id = $1 and version = $2',
          [t.id, version, content.subject, content.html, content.text, JSON.stringify(content.variables)],
        );
      } else if (touchesContent) {
        version += 1;
        await insertVersion(client, t.id, version, content, false);
      }
      await client.query('update templates set name = $2, latest_version = $3, updated_at = now() where id = $1', [
        t.id,
        patch.name ?? t.name,
        version,
      ]);
      return t.id;
    });
    return id === null ? null : getTemplate(db, account, id);
  } catch (error) {
    if ((error as { code?: string }).code === '23505') return false;
    throw error;
  }
}

/** Publishes the draft: it becomes what sends use. Null: no such template; false: no draft to publish. */
export async function publishTemplate(db: pg.Pool, account: string, ref: string): Promise<StoredTemplate | null | false> {
  const id = await inTransaction(db, async (client) => {
    const t = await templateRow(client, account, ref, true);
    if (!t) return null;
    const published = await client.query(
      'update template_versions set published_at = now() where template_id = $1 and version = $2 and published_at is null',
      [t.id, t.latest_version],
    );
    if (published.rowCount !== 1) return false;
    await client.query('update templates set published_version = latest_version, updated_at = now() where id = $1', [t.id]);
    return t.id;
  });
  return typeof id === 'string' ? getTemplate(db, account, id) : id;
}

/**
 * Deletes a template (its name may be used again) and its versions, whose storage counts no more.
 * Emails already accepted carry their rendered content and keep going.
 */
export async function deleteTemplate(db: pg.Pool, account: string, ref: string): Promise<boolean> {
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<{ id: string }>(`update templates set deleted_at = now() where ${BY_REF} returning id`, [
      account,
      ref,
    ]);
    const id = rows[0]?.id;
    if (id) await client.query('delete from template_versions where template_id = $1', [id]);
    return id !== undefined;
  });
}

/** One version of a template (a draft included): for the API's preview and version listing. */
export async function getTemplateVersion(
  db: Db,
  account: string,
  ref: string,
  version: number,
): Promise<(TemplateVersion & { id: string }) | null> {
  const { rows } = await db.query<VersionRow & { id: string }>(
    `select t.id, v.version, v.subject, v.html, v.text, v.variables, v.created_at, v.published_at
       from templates t join template_versions v on v.template_id = t.id
      where ${byRef('t.')} and v.version = $3`,
    [account, ref, version],
  );
  const r = rows[0];
  return r ? { id: r.id, ...toVersion(r) } : null;
}

/**
 * What a send renders: the given version if it was ever published (drafts are never sent), or
 * the one published now. Null: no such template or version.
 */
export async function resolveTemplate(
  db: pg.Pool,
  account: string,
  ref: string,
  version: number | undefined,
): Promise<(TemplateVersion & { id: string }) | null> {
  const { rows } = await db.query<VersionRow & { id: string }>(
    `select t.id, v.version, v.subject, v.html, v.text, v.variables, v.created_at, v.published_at
       from templates t join template_versions v on v.template_id = t.id and v.version = coalesce($3, t.published_version)
      where ${byRef('t.')} and v.published_at is not null`,
    [account, ref, version ?? null],
  );
  const r = rows[0];
  return r ? { id: r.id, ...toVersion(r) } : null;
}
