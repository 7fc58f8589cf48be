import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';

/** The emails the processor sends, one set of templates each in `templates/`. */
export const EMAIL_KINDS = ['confirmation', 'shipped', 'cancelled'] as const;
export type EmailKind = (typeof EMAIL_KINDS)[number];

/** The service's templates folder (beside `src/` and `dist/`). */
export const TEMPLATE_DIR = join(__dirname, '..', 'templates');

export interface EmailLine {
  name: string;
  quantity: number;
  unitPrice: string;
  lineTotal: string;
}

/** Everything a template may use; a template asking for anything else fails (strict). */
export interface EmailData {
  customerName: string;
  orderNumber: string;
  orderDate: string;
  total: string;
  sellerName: string;
  items: EmailLine[];
  invoiceNumber?: string;
  invoiceUrl?: string;
  linkExpires?: string;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

type Template = (data: EmailData) => string;

/**
 * Templates compiled once, at start: HTML escaped, plain text and subject not (an `&` stays `&`),
 * all strict, so a field the data lacks is an error rather than an empty gap in a customer's email.
 */
export class EmailTemplates {
  private readonly templates: Record<EmailKind, { subject: Template; html: Template; text: Template }>;

  constructor(dir: string = TEMPLATE_DIR) {
    const compile = (kind: EmailKind, part: 'subject' | 'html' | 'text'): Template => {
      const source = readFileSync(join(dir, `${kind}.${part}.hbs`), 'utf8');
      const template = Handlebars.compile<EmailData>(part === 'subject' ? source.trim() : source, {
        strict: true,
        noEscape: part !== 'html',
      });
      // Compile now: a template with a syntax error stops the service at start, not at the first order.
      template({
        customerName: '',
        orderNumber: '',
        orderDate: '',
        total: '',
        sellerName: '',
        items: [],
        invoiceNumber: '',
        invoiceUrl: '',
        linkExpires: '',
      });
      return template;
    };
    this.templates = Object.fromEntries(
      EMAIL_KINDS.map((kind) => [kind, { subject: compile(kind, 'subject'), html: compile(kind, 'html'), text: compile(kind, 'text') }]),
    ) as EmailTemplates['templates'];
  }

  render(kind: EmailKind, data: EmailData): RenderedEmail {
    const template = this.templates[kind];
    return { subject: template.subject(data), html: template.html(data), text: template.text(data) };
  }
}
