import { z } from 'zod';

/** The types a template variable may declare: checked at send time, before anything is rendered. */
export const VARIABLE_TYPES = ['string', 'number', 'boolean', 'array', 'object'] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

export const MAX_TEMPLATE_VARIABLES = 100;
/** Source size of each part (subject, html, text) of a template. */
export const MAX_TEMPLATE_SOURCE = 512 * 1024;

export const variableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'variable names are a letter or _ then up to 63 letters, digits or _');

export const variableDeclarationSchema = z.strictObject({
  type: z.enum(VARIABLE_TYPES),
  /** A required variable must be given at send time; an optional one renders as empty when missing. */
  required: z.boolean().default(true),
  description: z.string().max(500).optional(),
});
export type VariableDeclaration = z.output<typeof variableDeclarationSchema>;

export const variablesDeclarationSchema = z
  .record(variableName, variableDeclarationSchema)
  .refine((v) => Object.keys(v).length <= MAX_TEMPLATE_VARIABLES, `at most ${MAX_TEMPLATE_VARIABLES} variables`);
export type VariablesDeclaration = z.output<typeof variablesDeclarationSchema>;

export const templateName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'template names are 1-100 letters, digits, _ . or -, starting with a letter or digit')
  // Routes take an id or a name in one place: a name never looks like an id.
  .refine((n) => !n.startsWith('tmpl_'), 'template names may not start with tmpl_ (the prefix of template ids)');

/**
 * A template reference on a send: by id or by name (exactly one), a published version (default:
 * the one published now) and the variables.
 */
export const templateRefSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^tmpl_[A-Za-z0-9]{1,40}$/, 'a template id looks like tmpl_…')
      .optional(),
    name: templateName.optional(),
    version: z.number().int().min(1).optional().describe('A published version; default: the one published now'),
    variables: z.record(z.string(), z.unknown()).default({}),
  })
  .refine((r) => (r.id === undefined) !== (r.name === undefined), {
    message: 'give the template id or its name (exactly one)',
    path: ['id'],
  })
  .refine((r) => Object.keys(r.variables).length <= MAX_TEMPLATE_VARIABLES, {
    message: `at most ${MAX_TEMPLATE_VARIABLES} variables`,
    path: ['variables'],
  });
export type TemplateRef = z.output<typeof templateRefSchema>;

/** What the envelope says about the template an email was rendered from (for the record only: nothing re-renders). */
export const renderedFromSchema = z.strictObject({ id: z.string(), version: z.number().int().min(1) });
