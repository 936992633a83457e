import { describe, expect, it } from 'vitest';

import { appFromGitUrl } from '../../../src/heroku/remote.js';

describe('appFromGitUrl', () => {
  it('reads the app from the URLs Heroku gives git remotes', () => {
    expect(appFromGitUrl('https://git.heroku.com/my-app.git')).toBe('my-app');
    expect(appFromGitUrl('https://user@git.heroku.com/my-app.git')).toBe('my-app');
    expect(appFromGitUrl('git@heroku.com:my-app.git')).toBe('my-app');
    expect(appFromGitUrl('ssh://git@heroku.com/my-app.git')).toBe('my-app');
  });

  it('rejects other remotes', () => {
    expect(appFromGitUrl('git@github.com:me/my-app.git')).toBeUndefined();
    expect(appFromGitUrl('https://git.heroku.com.evil.example/my-app.git')).toBeUndefined();
    expect(appFromGitUrl('https://git.heroku.com/My_App.git')).toBeUndefined();
  });
});
