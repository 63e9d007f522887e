;;; dap-mode.el --- Emacs dap-mode (Debian's elpa-dap-mode) against `pidscope dap' -*- lexical-binding: t -*-
;;
;; Run by test/dap/dap-mode.test.ts:
;;   PIDSCOPE_PID=N PIDSCOPE_DAP_COMMAND='node --import tsx .../adapter-entry.ts' \
;;     emacs --batch -l test/dap/dap-mode.el
;; Attaches the way dap-mode does, waits for the Live view thread to stop, expands a struct,
;; evaluates twice and disconnects. Prints one line per step ("STEP ...") and "DONE", or "FAIL ..."
;; and exits 1.

;; Debian's lsp-treemacs reads this variable before treemacs defines it.
(defvar treemacs-text-scale nil)
(require 'package)
(package-initialize)
(require 'dap-mode)

(defconst pidscope-live-thread 1000000000)
(defvar pidscope-pid (string-to-number (or (getenv "PIDSCOPE_PID") "0")))
(defvar pidscope-command (split-string (or (getenv "PIDSCOPE_DAP_COMMAND") "pidscope dap")))
(defvar pidscope-done nil)
(defvar pidscope-started nil)

(defun pidscope-say (fmt &rest args)
  (princ (concat (apply #'format fmt args) "\n")))

(defun pidscope-fail (fmt &rest args)
  (pidscope-say "FAIL %s" (apply #'format fmt args))
  (kill-emacs 1))

(defun pidscope-request (session command args then)
  "Sends COMMAND with ARGS in SESSION; calls THEN with the response body."
  (dap--send-message
   (dap--make-request command args)
   (dap--resp-handler (lambda (resp) (funcall then (gethash "body" resp)))
                      (lambda (msg) (pidscope-fail "%s: %s" command msg)))
   session))

(defun pidscope-find (vars name)
  (seq-find (lambda (v) (equal (gethash "name" v) name)) vars))

(defun pidscope-evaluate (session n then)
  (pidscope-request
   session "evaluate" (list :expression "g_int" :frameId 1 :context "repl")
   (lambda (body)
     (pidscope-say "STEP evaluate %d: g_int = %s" n (gethash "result" body))
     (funcall then))))

(defun pidscope-browse (session)
  "Scopes of the live frame, the globals.c unit, then g_point expanded."
  (pidscope-request
   session "scopes" (list :frameId 1)
   (lambda (body)
     (let* ((scopes (append (gethash "scopes" body) nil))
            (main (car scopes)))
       (pidscope-say "STEP scopes: %s" (mapconcat (lambda (s) (gethash "name" s)) scopes ", "))
       (pidscope-request
        session "variables" (list :variablesReference (gethash "variablesReference" main))
        (lambda (body)
          (let ((unit (pidscope-find (append (gethash "variables" body) nil) "globals.c")))
            (unless unit (pidscope-fail "no globals.c unit"))
            (pidscope-request
             session "variables" (list :variablesReference (gethash "variablesReference" unit))
             (lambda (body)
               (let ((point (pidscope-find (append (gethash "variables" body) nil) "g_point")))
                 (unless point (pidscope-fail "no g_point"))
                 (pidscope-say "STEP g_point = %s" (gethash "value" point))
                 (pidscope-request
                  session "variables" (list :variablesReference (gethash "variablesReference" point))
                  (lambda (body)
                    (pidscope-say "STEP expanded g_point: %s"
                                  (mapconcat (lambda (v) (format "%s = %s" (gethash "name" v) (gethash "value" v)))
                                             (gethash "variables" body) ", "))
                    (pidscope-evaluate
                     session 1
                     (lambda ()
                       (pidscope-evaluate
                        session 2
                        (lambda ()
                          (pidscope-say "STEP disconnect")
                          (dap-disconnect session)))))))))))))))))

(add-hook 'dap-stopped-hook
          (lambda (session)
            (let ((thread (dap--debug-session-thread-id session)))
              (pidscope-say "STEP stopped: thread %s" thread)
              (unless (equal thread pidscope-live-thread)
                (pidscope-fail "stopped thread %s is not the live view" thread))
              (unless pidscope-started
                (setq pidscope-started t)
                (pidscope-browse session)))))

(add-hook 'dap-terminated-hook
          (lambda (_session)
            (pidscope-say "STEP terminated")
            (setq pidscope-done t)))

(dap-start-debugging-noexpand
 (list :type "pidscope" :request "attach" :name "pidscope (dap-mode test)"
       :dap-server-path pidscope-command
       :pid pidscope-pid))

(let ((deadline (+ (float-time) 90)))
  (while (and (not pidscope-done) (< (float-time) deadline))
    (accept-process-output nil 0.1)))
(unless pidscope-done (pidscope-fail "timed out (started: %s)" pidscope-started))
(pidscope-say "DONE")
(kill-emacs 0)
