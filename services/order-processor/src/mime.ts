import MailComposer from 'nodemailer/lib/mail-composer';
import type { RenderedEmail } from './emails';

export interface Attachment {
  filename: string;
  content: Buffer;
  contentType: string;
}

export interface OutgoingEmail extends RenderedEmail {
  from: string;
  to: string;
  /** A header of ours so a person can find the message again (in SES's logs, the recipient's mailbox). */
  reference: string;
  attachments?: Attachment[];
}

/** The raw MIME message SES's SendRawEmail takes: text and HTML alternatives, attachments, UTF-8 headers. */
export function composeRawEmail(email: OutgoingEmail): Promise<Buffer> {
  const composer = new MailComposer({
    from: email.from,
    to: email.to,
    subject: email.subject,
    text: email.text,
    html: email.html,
    headers: { 'X-Pipeline-Reference': email.reference },
    attachments: (email.attachments ?? []).map((attachment) => ({
      filename: attachment.filename,
      content: attachment.content,
      contentType: attachment.contentType,
    })),
  });
  return new Promise((resolve, reject) => {
    composer.compile().build((error, message) => (error ? reject(error) : resolve(message)));
  });
}
