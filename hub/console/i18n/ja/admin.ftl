# renkei コンソール（admin）：日本語（英語は ../en/admin.ftl）。

admin-title = 管理
admin-intro = 事務局の業務：会員組織、トークン、モデレーションポリシー、許可リスト、連携リンク、監査ログ。
admin-save = 保存
admin-yes = はい
admin-no = いいえ
admin-never = なし
admin-col-actions = 操作

admin-done-org-added = 組織を登録しました。
admin-done-trust-set = 信頼レベルを変更しました。
admin-done-token-revoked = トークンを失効させました。このトークンのコンソールセッションは終了しています。
admin-done-policy-saved = モデレーションポリシーを置き換えました。
admin-done-allowlist-imported = 許可リストを保存しました。
admin-done-allowlist-removed = 許可リストを削除しました。

admin-trust-new = 新規
admin-trust-standard = 標準
admin-trust-trusted = 信頼済み

# 組織
admin-orgs-title = 組織
admin-orgs-about = 会員組織・コーディネーター組織とその信頼レベル
admin-orgs-list = 登録済みの組織
admin-orgs-none = 組織はまだ登録されていません。
admin-col-org = 組織
admin-col-sector = 業種
admin-col-coordinator = コーディネーター
admin-col-trust = 信頼レベル
admin-org-trust-change = 変更先
admin-org-add = 組織を登録
admin-org-name = 組織名
admin-org-sector-hint = 例：エネルギー、金融、情報通信、運輸
admin-org-coordinator = 組織の種類
admin-org-member = 会員組織
admin-org-is-coordinator = コーディネーター組織（ISAC事務局。コーディネーター用トークンを保持できます）
admin-org-trust-hint = 投稿がコーディネーターの確認待ちになるかどうかは、モデレーションポリシーが信頼レベルに応じて決めます。
admin-org-add-submit = 組織を登録

# トークン
admin-tokens-title = トークン
admin-tokens-about = トークンの発行・失効と、二要素認証の登録用ワンタイムコード
admin-tokens-list = 発行済みのトークン
admin-tokens-none = トークンはまだ発行されていません。
admin-col-token-id = トークンID
admin-col-role = ロール
admin-col-token-name = 保持者
admin-col-created = 発行日時
admin-col-expires = 有効期限
admin-col-revoked = 失効日時
admin-col-grants = 追加の権限
admin-grant-indicators = インディケーターの参照（調達担当用トークン向け）
admin-token-no-expiry = 期限なし
admin-token-active = 有効
admin-token-issue = トークンを発行
admin-token-role-hint = コーディネーター用トークンはコーディネーター組織にのみ発行できます。ピアハブ用トークンは連携リンクの登録時に発行されます。
admin-token-name-optional = 保持者（任意：担当者名またはシステム名。監査ログに表示されます）
admin-token-name-hint = 100文字以内。
admin-token-expires-optional = 有効期限（任意）
admin-token-expires-hint = 指定した日の0時（UTC）に失効します。期限を設けない場合は空欄にしてください。
admin-token-issue-submit = トークンを発行
admin-token-revoke = 失効
admin-token-revoke-hint = 失効はただちに有効になり、保持者が開いているコンソールのセッションも終了します。
admin-token-enrol = 登録コードを発行
admin-token-issued-title = トークンを発行しました
admin-token-issued-intro = このトークンを安全な経路で保持者に渡してください。
admin-token-secret = トークン
admin-secret-once = 今すぐコピーしてください。この画面を閉じると二度と表示されません。ハブにはダイジェストのみが保存されます。
admin-token-issued-enrol = コーディネーターは、コンソールを使う前に二要素認証を登録する必要があります。このトークンのワンタイム登録コードを発行し、トークンとは別の経路で保持者に渡してください。
admin-back-tokens = トークン一覧に戻る
admin-enrolment-title = ワンタイム登録コード
admin-enrolment-intro = このコードを使って、トークンの保持者がコンソールで最初の二要素認証（セキュリティキーまたは認証アプリ）を登録します。有効期間は{ $n }時間で、1回だけ使えます。新しいコードを発行すると以前のコードは無効になります。
admin-enrolment-code = 登録コード

# モデレーションポリシー
admin-policy-title = モデレーションポリシー
admin-policy-about = どの投稿をコーディネーターの確認待ちにするか
admin-policy-intro = 投稿は上から順にルールと照合され、最初に一致したルールで扱いが決まります。どのルールにも一致しない場合は既定の扱いになります。
admin-policy-rules = 現在のルール
admin-policy-organizations = 組織
admin-policy-action = 扱い
admin-policy-default = それ以外（既定）
admin-policy-any = すべて
admin-policy-coordinator-orgs = コーディネーター組織
admin-policy-member-orgs = 会員組織
admin-action-publish = ただちに公開
admin-action-queue = コーディネーターの確認待ち
admin-policy-red = TLP:RED の投稿は、ルールにかかわらず確認待ちになりません。
admin-policy-replace = ポリシーを置き換える
admin-policy-text = ポリシー（JSON）
admin-policy-text-hint = default と action は "publish"（公開）または "queue"（確認待ち）。各ルールの trust は "new"、"standard"、"trusted"、kinds は "indicator"、"technique"、"incident"、"advisory"、"assessment"、tlp は "TLP:CLEAR" ～ "TLP:AMBER+STRICT"、coordinator_org は true または false。空または省略したリストはすべてに一致します。
admin-policy-submit = ポリシーを置き換える

# 許可リスト
admin-allowlists-title = 許可リスト
admin-allowlists-about = インディケーターとして共有してはならない値（誤検知）
admin-allowlists-intro = 許可リストに含まれるインディケーターは共有時に拒否されます（会員はコーディネーターの確認に回すこともできます）。
admin-allowlists-builtin = 組み込みリスト（プライベートアドレス範囲、公開DNSリゾルバーなど）も適用されます。ここには表示されません。
admin-allowlists-list = 保存済みのリスト
admin-allowlists-none = 保存済みのリストはありません。
admin-col-list = リスト名
admin-col-entries = エントリ数
admin-allowlist-remove = 削除
admin-allowlist-remove-confirm = 確認
admin-allowlist-import = リストの追加・置き換え
admin-allowlist-entries = エントリ（1行に1つ）
admin-allowlist-entries-hint = アドレス（198.51.100.7）、範囲（192.0.2.0/24、2001:db8::/32）、ドメイン（example.jp）、ドメインとそのすべてのサブドメイン（*.example.jp）、または MD5・SHA-1・SHA-256 のハッシュ。# 以降はコメントです。
admin-allowlist-replaces = 同じ名前のリストは、入力したエントリで置き換えられます。既存のリストにエントリを追加する場合は、現在のエントリも含めて入力してください。エントリとして不正な行が1行でもあれば、何も保存されません。
admin-allowlist-import-submit = リストを保存

# 連携リンク
admin-peers-title = 連携リンク
admin-peers-about = ピアハブ、取得の遅れ、拒否された件数
admin-peers-intro = リンクの追加と削除はハブの運用者が行います（renkei-hub peer）。遅れ：ピアの最新エントリ番号と、最後に取得したエントリ番号の差です。
admin-col-url = アドレス
admin-col-max-label = 上限ラベル
admin-col-direction = 方向
admin-col-received = 受信件数
admin-col-last-attempt = 最終試行
admin-peer-community = コミュニティ
admin-direction-pull = 取得
admin-direction-push = 送信
admin-direction-both = 取得・送信

# 監査ログ
admin-audit-title = 監査ログ
admin-audit-about = 誰が何をしたか（チェーンの完全性を検証して表示）
admin-audit-intro = 新しい順に表示します。提出者を知ることができない匿名の情報について、その提出者自身が行った操作は、操作者を伏せて表示します。
admin-audit-none = エントリはありません。
admin-audit-empty = 監査ログは空です。
admin-audit-verified = チェーンを検証しました：エントリ1～{ $n }は改ざんされていません。
admin-audit-broken = チェーンがエントリ{ $n }で壊れています：{ $reason }。ハブの運用者に連絡してください（renkei-hub audit verify）。
admin-audit-reason-missing = エントリが欠落しています
admin-audit-reason-link = 直前のエントリとの連結が壊れています
admin-audit-reason-content = 内容が鍵付きハッシュと一致しません
admin-audit-withheld = （非表示）
admin-audit-operator = ハブ運用者
admin-audit-newest = 最新のエントリ
admin-audit-older = さらに古いエントリ
admin-col-when = 日時
admin-col-actor = 操作者
admin-col-action = 操作
admin-col-target = 対象
admin-col-detail = 詳細
admin-col-source = 接続元アドレス
admin-audit-not-verified = 連鎖の検証は求めに応じて行います（ログ全体を読みます）。
admin-audit-verify = いま連鎖を検証する
admin-audit-verifying = 連鎖を検証しています。しばらくしてからページを再読み込みしてください。
